//! A compiled, validated, immutable set of policies: what [`crate::PolicyEngine`] evaluates and
//! what [`crate::PolicyStore`] swaps on reload.
//!
//! Loading reads the schema (`policies/airlock.cedarschema` plus the generated `Arguments`
//! line, see [`crate::args`]), the built-in pack (unless disabled) and every `*.cedar` file of
//! the configured folder; parses each file on its own so that every error carries
//! `file:line:column`; checks the annotations; and validates the whole set against the schema
//! in Cedar's strict mode. Any problem rejects the whole snapshot — a half-loaded policy set
//! would silently drop a `forbid`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use airlock_core::{Outcome, StepUpChallenge};
use cedar_policy::{
    ActionConstraint, Effect, EntityUid, Policy, PolicyId, PolicySet, PrincipalConstraint,
    ResourceConstraint, Schema, ValidationMode, ValidationWarning, Validator,
};

use crate::args::{ArgType, write_record};
use crate::config::{PolicyConfig, TrifectaMode};
use crate::engine::{CONTEXT_ATTRIBUTES, SESSION_ATTRIBUTES, ShapeCache};

/// The schema shipped with airlock, before the generated `Arguments` line.
pub const BUILTIN_SCHEMA: &str = include_str!("../../../policies/airlock.cedarschema");
const SCHEMA_NAME: &str = "policies/airlock.cedarschema";

/// The built-in pack: `(file name, text)`. The two trifecta files are alternatives; the
/// loader picks one by [`TrifectaMode`].
pub const BUILTIN_POLICIES: &[(&str, &str)] = &[
    (
        "policies/base.cedar",
        include_str!("../../../policies/base.cedar"),
    ),
    (
        "policies/support.cedar",
        include_str!("../../../policies/support.cedar"),
    ),
    (
        "policies/coding.cedar",
        include_str!("../../../policies/coding.cedar"),
    ),
    (
        "policies/soc.cedar",
        include_str!("../../../policies/soc.cedar"),
    ),
    (
        "policies/dataflow.cedar",
        include_str!("../../../policies/dataflow.cedar"),
    ),
    (
        "policies/injection.cedar",
        include_str!("../../../policies/injection.cedar"),
    ),
];
const TRIFECTA_APPROVAL: (&str, &str) = (
    "policies/trifecta_approval.cedar",
    include_str!("../../../policies/trifecta_approval.cedar"),
);
const TRIFECTA_DENY: (&str, &str) = (
    "policies/trifecta_deny.cedar",
    include_str!("../../../policies/trifecta_deny.cedar"),
);

/// The built-in pack's `(file name, text)` sources for the given trifecta variant.
pub fn builtin_sources(trifecta: TrifectaMode) -> Vec<(String, String)> {
    let chosen = match trifecta {
        TrifectaMode::RequireApproval => TRIFECTA_APPROVAL,
        TrifectaMode::Deny => TRIFECTA_DENY,
    };
    BUILTIN_POLICIES
        .iter()
        .chain(std::iter::once(&chosen))
        .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
        .collect()
}

/// One thing wrong with a policy, the schema or the folder, located where possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    /// The file, as the user named it (or `policies/…` for the built-in pack).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.file, self.message)
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for PolicyProblem {}

/// What a policy's annotations ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMeta {
    /// `@id`, or `file#index` when absent.
    pub id: String,
    /// The file it came from.
    pub file: String,
    /// Whether Cedar sees it as a `forbid` in the source.
    pub forbid: bool,
    /// `@outcome`, defaulting to `allow` for permits and `deny` for forbids.
    pub outcome: Outcome,
    /// `@reason`.
    pub reason: Option<String>,
    /// `@acr_values` / `@max_age`, for `step_up`.
    pub step_up: Option<StepUpChallenge>,
}

impl PolicyMeta {
    /// A forbid whose outcome is not `deny`: it does not permit anything, but it does not
    /// refuse outright either (see the crate docs for the combination rules).
    pub fn is_soft_forbid(&self) -> bool {
        self.forbid && self.outcome != Outcome::Deny
    }

    /// The reason to show, falling back to the policy id.
    pub fn reason_text(&self) -> String {
        self.reason
            .clone()
            .unwrap_or_else(|| format!("policy `{}` applies", self.id))
    }
}

/// A validated policy set with everything evaluation needs.
#[derive(Debug)]
pub struct PolicySnapshot {
    schema: Schema,
    /// The set Cedar evaluates: soft forbids rewritten as permits (see crate docs).
    pub(crate) policies: PolicySet,
    /// The same policies with their scopes, for [`PolicySnapshot::policies_for`].
    scoped: Vec<(Policy, PolicyScope)>,
    /// What each request shape (principal and resource) makes of this snapshot: its
    /// entities and policy subsets, built once.
    pub(crate) shapes: ShapeCache,
    pub(crate) meta: HashMap<PolicyId, PolicyMeta>,
    pub(crate) config: PolicyConfig,
    pub(crate) arguments: BTreeMap<String, ArgType>,
    warnings: Vec<PolicyProblem>,
}

impl PolicySnapshot {
    /// The built-in pack with the given configuration, plus `config.dir` when set.
    pub fn load(config: PolicyConfig) -> Result<PolicySnapshot, Vec<PolicyProblem>> {
        let dir = config.dir.clone();
        Self::load_with_dir(config, dir.as_deref())
    }

    /// Like [`PolicySnapshot::load`], with the policy folder given explicitly (`None`: none).
    pub fn load_with_dir(
        config: PolicyConfig,
        dir: Option<&Path>,
    ) -> Result<PolicySnapshot, Vec<PolicyProblem>> {
        let mut sources = Vec::new();
        let mut problems = Vec::new();
        if config.builtin_pack {
            sources.extend(builtin_sources(config.trifecta));
        }
        if let Some(dir) = dir {
            match read_policy_dir(dir) {
                Ok(files) => sources.extend(files),
                Err(problem) => problems.push(problem),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Self::from_sources(config, &sources)
    }

    /// Compiles the given `(file name, text)` policy sources.
    pub fn from_sources(
        config: PolicyConfig,
        sources: &[(String, String)],
    ) -> Result<PolicySnapshot, Vec<PolicyProblem>> {
        let mut problems = Vec::new();
        let arguments = argument_union(&config);
        let schema_text = schema_text(&arguments);
        let schema = match Schema::from_cedarschema_str(&schema_text) {
            Ok((schema, _warnings)) => Some(schema),
            Err(err) => {
                problems.extend(diagnostic_problems(SCHEMA_NAME, &schema_text, &err));
                None
            }
        };

        let mut source_set = PolicySet::new();
        let mut effective = PolicySet::new();
        let mut scoped = Vec::new();
        let mut meta = HashMap::new();
        let mut files_by_id: HashMap<PolicyId, (String, String)> = HashMap::new();
        for (file, text) in sources {
            let parsed = match PolicySet::from_str(text) {
                Ok(parsed) => parsed,
                Err(errors) => {
                    for error in errors.iter() {
                        problems.extend(diagnostic_problems(file, text, error));
                    }
                    continue;
                }
            };
            if parsed.templates().next().is_some() {
                problems.push(PolicyProblem {
                    file: file.clone(),
                    line: None,
                    column: None,
                    message: "policy templates (with ?principal/?resource slots) are not supported"
                        .into(),
                });
            }
            // `from_str` numbers policies policy0, policy1, … in source order.
            let mut policies: Vec<&Policy> = parsed.policies().collect();
            policies.sort_by_key(|p| {
                p.id()
                    .to_string()
                    .trim_start_matches("policy")
                    .parse::<usize>()
                    .unwrap_or(usize::MAX)
            });
            let mut search_from = 0;
            for (index, policy) in policies.into_iter().enumerate() {
                let (line, column) = policy_location(policy, text, &mut search_from);
                let located = |message: String| PolicyProblem {
                    file: file.clone(),
                    line,
                    column,
                    message,
                };
                let id = policy
                    .annotation("id")
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{file}#{index}"));
                let policy_id = PolicyId::new(&id);
                if let Some((other, _)) = files_by_id.get(&policy_id) {
                    problems.push(located(format!("policy id `{id}` is also used in {other}")));
                    continue;
                }
                let forbid = policy.effect() == Effect::Forbid;
                let policy_meta = match read_meta(policy, &id, file, forbid) {
                    Ok(m) => m,
                    Err(message) => {
                        problems.push(located(message));
                        continue;
                    }
                };
                let renamed = policy.new_id(policy_id.clone());
                let evaluated = if policy_meta.is_soft_forbid() {
                    match as_permit(&renamed, &policy_id) {
                        Ok(p) => p,
                        Err(message) => {
                            problems.push(located(message));
                            continue;
                        }
                    }
                } else {
                    renamed.clone()
                };
                if let Err(err) = source_set.add(renamed) {
                    problems.push(located(err.to_string()));
                    continue;
                }
                scoped.push((evaluated.clone(), PolicyScope::of(&evaluated)));
                if let Err(err) = effective.add(evaluated) {
                    problems.push(located(err.to_string()));
                    continue;
                }
                files_by_id.insert(policy_id.clone(), (file.clone(), text.clone()));
                meta.insert(policy_id, policy_meta);
            }
        }

        let mut warnings = Vec::new();
        if let Some(schema) = &schema {
            let validator = Validator::new(schema.clone());
            let result = validator.validate(&source_set, ValidationMode::Strict);
            for error in result.validation_errors() {
                let (file, text) = files_by_id
                    .get(error.policy_id())
                    .cloned()
                    .unwrap_or_else(|| (SCHEMA_NAME.to_owned(), String::new()));
                problems.extend(diagnostic_problems(&file, &text, error));
            }
            for warning in result.validation_warnings() {
                let (file, text) = files_by_id
                    .get(warning.policy_id())
                    .cloned()
                    .unwrap_or_else(|| (SCHEMA_NAME.to_owned(), String::new()));
                let mut found = diagnostic_problems(&file, &text, warning);
                // A policy that can never apply is almost always a mistake — typically a
                // `context.arguments has x` for an argument no tool declares — and a forbid
                // that silently never fires is worse than a load failure.
                if matches!(warning, ValidationWarning::ImpossiblePolicy(_)) {
                    for problem in &mut found {
                        problem.message.push_str(
                            "; if it reads context.arguments.NAME, declare NAME in \
                             [tools.TOOL] arguments",
                        );
                    }
                    problems.extend(found);
                } else {
                    warnings.extend(found);
                }
            }
        }

        match schema {
            Some(schema) if problems.is_empty() => Ok(PolicySnapshot {
                schema,
                policies: effective,
                scoped,
                shapes: ShapeCache::default(),
                meta,
                config,
                arguments,
                warnings,
            }),
            _ => Err(problems),
        }
    }

    /// The policies that can apply to a request of this shape: those whose scope (the
    /// `principal`, `action`, `resource` constraints in the policy head) does not rule it out.
    /// Cedar evaluates every policy it is given, and most of a large set is scoped to other
    /// roles, tools or actions; evaluating only the rest keeps `authorize` within its latency
    /// budget. The filter is conservative — `is` constraints and anything it does not
    /// understand keep the policy — so it can only skip policies that could not match. The
    /// engine caches the subset per request shape ([`ShapeCache`]).
    pub(crate) fn policies_for(
        &self,
        action: &EntityUid,
        principal: &EntityUid,
        principal_ancestors: &[EntityUid],
        resource: &EntityUid,
        resource_ancestors: &[EntityUid],
    ) -> (PolicySet, ContextNeeds) {
        let mut set = PolicySet::new();
        let mut needs = ContextNeeds::NONE;
        for (policy, scope) in &self.scoped {
            if scope.may_match(
                action,
                principal,
                principal_ancestors,
                resource,
                resource_ancestors,
            ) {
                // Ids are unique within `scoped`, so adding cannot fail; if it somehow did,
                // fall back to the whole set rather than evaluate a partial one.
                if set.add(policy.clone()).is_err() {
                    return (self.policies.clone(), ContextNeeds::ALL);
                }
                needs = needs.union(scope.context);
            }
        }
        (set, needs)
    }

    /// The configuration this snapshot was built with (tool labels, session limits).
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// Validator warnings (e.g. impossible conditions): worth printing, not fatal.
    pub fn warnings(&self) -> &[PolicyProblem] {
        &self.warnings
    }

    /// The annotations of every loaded policy, sorted by id.
    pub fn policies(&self) -> Vec<&PolicyMeta> {
        let mut all: Vec<_> = self.meta.values().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// The Cedar schema in force (for tools that validate entities or policies against it).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The complete schema text used, generated `Arguments` line included.
    pub fn schema_text(&self) -> String {
        schema_text(&self.arguments)
    }
}

/// Request shapes (principal and resource) whose entities and policy subsets are cached per
/// snapshot.
pub const SHAPE_CACHE_LIMIT: usize = 4096;

/// Which `context` attributes a set of policies reads, so that the engine builds only those:
/// the top-level ones ([`CONTEXT_ATTRIBUTES`]), and within `session` each of
/// [`SESSION_ATTRIBUTES`] (`call_count` changes on every call, so a context that carries it only
/// for the policies that read it stays equal from call to call, which is what the engine's
/// decision memo keys on). A policy reads `x` when it says `context.x` or `context has x`, and
/// `session.y` when it says `context.session.y` or `context.session has y`; one that uses
/// `context` (or `context.session`) in any other way, or names an attribute airlock does not
/// provide, counts as reading all of it. Leaving out an attribute a policy reads would make it
/// fail to evaluate (a deny), so the analysis only errs towards building more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContextNeeds(u16);

impl ContextNeeds {
    const NONE: ContextNeeds = ContextNeeds(0);
    const ALL: ContextNeeds = ContextNeeds(u16::MAX);

    fn of(policy: &Policy) -> ContextNeeds {
        let mut needs = ContextNeeds::NONE;
        match policy.to_json() {
            Ok(json) => needs.visit(&json),
            Err(_) => needs = ContextNeeds::ALL,
        }
        needs
    }

    /// Whether the top-level attribute `attribute` must be built.
    pub(crate) fn includes(self, attribute: &str) -> bool {
        attribute_bit(attribute).is_none_or(|bit| self.0 & bit != 0)
    }

    /// Whether `context.session.attribute` must be built.
    pub(crate) fn includes_session(self, attribute: &str) -> bool {
        session_attribute_bit(attribute).is_none_or(|bit| self.0 & bit != 0)
    }

    fn union(self, other: ContextNeeds) -> ContextNeeds {
        ContextNeeds(self.0 | other.0)
    }

    /// Walks a policy's JSON form (Cedar's EST): `{".": {"left": …, "attr": …}}`,
    /// `{"has": {"left": …, "attr": …}}`, and `{"Var": "context"}` for the variable.
    fn visit(&mut self, json: &serde_json::Value) {
        match json {
            serde_json::Value::Object(map) => {
                for (key, operand) in map {
                    if key == "." || key == "has" {
                        if let Some(attribute) = session_attribute(operand) {
                            self.add_session(attribute);
                            continue;
                        }
                        if let Some(attribute) = context_attribute(operand) {
                            // `context has session` asks only whether the record is there.
                            self.add(attribute, key == ".");
                            continue;
                        }
                    }
                    if key == "Var" && operand == "context" {
                        *self = ContextNeeds::ALL;
                    }
                    self.visit(operand);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| self.visit(item)),
            _ => {}
        }
    }

    /// `context.attribute` is read; for `session` read `whole`, all of its attributes too.
    fn add(&mut self, attribute: &str, whole: bool) {
        self.0 |= match attribute_bit(attribute) {
            Some(bit) if attribute == "session" && whole => bit | ALL_SESSION_BITS,
            Some(bit) => bit,
            None => u16::MAX,
        };
    }

    /// `context.session.attribute` is read: the session record, with that attribute.
    fn add_session(&mut self, attribute: &str) {
        match session_attribute_bit(attribute) {
            Some(bit) => {
                self.add("session", false);
                self.0 |= bit;
            }
            None => self.add("session", true),
        }
    }
}

/// The bits of [`SESSION_ATTRIBUTES`], after those of [`CONTEXT_ATTRIBUTES`].
const ALL_SESSION_BITS: u16 = ((1 << SESSION_ATTRIBUTES.len()) - 1) << CONTEXT_ATTRIBUTES.len();

/// `context.attribute`'s bit in a [`ContextNeeds`]; `None` for a name airlock does not provide.
fn attribute_bit(attribute: &str) -> Option<u16> {
    bit_of(&CONTEXT_ATTRIBUTES, 0, attribute)
}

/// `context.session.attribute`'s bit in a [`ContextNeeds`]; `None` for a name airlock does not
/// provide.
fn session_attribute_bit(attribute: &str) -> Option<u16> {
    bit_of(&SESSION_ATTRIBUTES, CONTEXT_ATTRIBUTES.len(), attribute)
}

/// The bit of `attribute` among `known`, whose bits start at `first`.
fn bit_of(known: &[&str], first: usize, attribute: &str) -> Option<u16> {
    known
        .iter()
        .position(|name| *name == attribute)
        .map(|index| 1 << (first + index))
}

/// `x` when `operand` is `{"left": {"Var": "context"}, "attr": "x"}`.
fn context_attribute(operand: &serde_json::Value) -> Option<&str> {
    let left = operand.get("left")?;
    if left.get("Var").and_then(serde_json::Value::as_str) != Some("context") {
        return None;
    }
    operand.get("attr")?.as_str()
}

/// `y` when `operand` is `{"left": {".": <context.session>}, "attr": "y"}` (`context.session.y`
/// or `context.session has y`).
fn session_attribute(operand: &serde_json::Value) -> Option<&str> {
    let session = operand.get("left")?.get(".")?;
    if context_attribute(session)? != "session" {
        return None;
    }
    operand.get("attr")?.as_str()
}

/// The head of a policy, as far as the subset filter uses it.
#[derive(Debug, Clone)]
enum UidConstraint {
    Any,
    Eq(EntityUid),
    In(EntityUid),
}

impl UidConstraint {
    fn may_match(&self, uid: &EntityUid, ancestors: &[EntityUid]) -> bool {
        match self {
            UidConstraint::Any => true,
            UidConstraint::Eq(want) => want == uid,
            UidConstraint::In(want) => want == uid || ancestors.contains(want),
        }
    }
}

#[derive(Debug, Clone)]
struct PolicyScope {
    /// The `context` attributes the policy reads.
    context: ContextNeeds,
    principal: UidConstraint,
    /// `None`: any action. The schema declares no action groups, so `action in [..]` is
    /// membership of the list.
    actions: Option<Vec<EntityUid>>,
    resource: UidConstraint,
}

impl PolicyScope {
    fn of(policy: &Policy) -> PolicyScope {
        let principal = match policy.principal_constraint() {
            PrincipalConstraint::Eq(uid) => UidConstraint::Eq(uid),
            PrincipalConstraint::In(uid) => UidConstraint::In(uid),
            _ => UidConstraint::Any,
        };
        let resource = match policy.resource_constraint() {
            ResourceConstraint::Eq(uid) => UidConstraint::Eq(uid),
            ResourceConstraint::In(uid) => UidConstraint::In(uid),
            _ => UidConstraint::Any,
        };
        let actions = match policy.action_constraint() {
            ActionConstraint::Eq(uid) => Some(vec![uid]),
            ActionConstraint::In(uids) => Some(uids),
            ActionConstraint::Any => None,
        };
        PolicyScope {
            context: ContextNeeds::of(policy),
            principal,
            actions,
            resource,
        }
    }

    fn may_match(
        &self,
        action: &EntityUid,
        principal: &EntityUid,
        principal_ancestors: &[EntityUid],
        resource: &EntityUid,
        resource_ancestors: &[EntityUid],
    ) -> bool {
        self.actions.as_ref().is_none_or(|a| a.contains(action))
            && self.principal.may_match(principal, principal_ancestors)
            && self.resource.may_match(resource, resource_ancestors)
    }
}

/// Every `*.cedar` file of `dir`, sorted by name so that problems print in a stable order.
fn read_policy_dir(dir: &Path) -> Result<Vec<(String, String)>, PolicyProblem> {
    let problem = |message: String| PolicyProblem {
        file: dir.display().to_string(),
        line: None,
        column: None,
        message,
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| problem(format!("cannot read policy folder: {e}")))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| problem(format!("cannot read policy folder: {e}")))?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "cedar") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            std::fs::read_to_string(&path)
                .map(|text| (path.display().to_string(), text))
                .map_err(|e| PolicyProblem {
                    file: path.display().to_string(),
                    line: None,
                    column: None,
                    message: format!("cannot read: {e}"),
                })
        })
        .collect()
}

fn argument_union(config: &PolicyConfig) -> BTreeMap<String, ArgType> {
    let mut union = BTreeMap::new();
    for tool in config.tools.values() {
        for (name, ty) in &tool.arguments {
            union.entry(name.clone()).or_insert_with(|| ty.clone());
        }
    }
    union
}

fn schema_text(arguments: &BTreeMap<String, ArgType>) -> String {
    let mut text = String::with_capacity(BUILTIN_SCHEMA.len() + 256);
    text.push_str(BUILTIN_SCHEMA);
    text.push_str("\n// Generated from the `arguments` of [tools.*] in the configuration.\n");
    text.push_str("type Arguments = ");
    // Writing to a String cannot fail.
    let _ = write_record(&mut text, arguments);
    text.push_str(";\n");
    text
}

fn read_meta(policy: &Policy, id: &str, file: &str, forbid: bool) -> Result<PolicyMeta, String> {
    let outcome = match policy.annotation("outcome") {
        None => {
            if forbid {
                Outcome::Deny
            } else {
                Outcome::Allow
            }
        }
        Some(name) => Outcome::parse(name).ok_or_else(|| {
            format!(
                "@outcome(\"{name}\") is not an outcome; \
                 known: allow, deny, require_approval, step_up, redact"
            )
        })?,
    };
    if forbid && outcome == Outcome::Allow {
        return Err("a forbid cannot have @outcome(\"allow\"); use a permit".into());
    }
    if !forbid && outcome == Outcome::Deny {
        return Err("a permit cannot have @outcome(\"deny\"); use a forbid".into());
    }
    let acr_values = policy.annotation("acr_values");
    let max_age = policy.annotation("max_age");
    let step_up = if outcome == Outcome::StepUp {
        let max_age =
            match max_age {
                None => None,
                Some(text) => Some(text.trim().parse::<u64>().map_err(|_| {
                    format!("@max_age(\"{text}\") must be a whole number of seconds")
                })?),
            };
        Some(StepUpChallenge {
            acr_values: acr_values
                .map(|v| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            max_age,
        })
    } else {
        if acr_values.is_some() || max_age.is_some() {
            return Err("@acr_values and @max_age only apply to @outcome(\"step_up\")".into());
        }
        None
    };
    Ok(PolicyMeta {
        id: id.to_owned(),
        file: file.to_owned(),
        forbid,
        outcome,
        reason: policy.annotation("reason").map(str::to_owned),
        step_up,
    })
}

/// The same policy with effect `permit`. Cedar's own combination (any forbid wins) cannot
/// express "approve instead of refuse", so a soft forbid is evaluated as a permit and the
/// engine, knowing which ids are soft, applies airlock's rules to the satisfied set.
fn as_permit(policy: &Policy, id: &PolicyId) -> Result<Policy, String> {
    let mut json = policy
        .to_json()
        .map_err(|e| format!("cannot convert policy: {e}"))?;
    json["effect"] = serde_json::Value::String("permit".into());
    Policy::from_json(Some(id.clone()), json).map_err(|e| format!("cannot convert policy: {e}"))
}

/// Where the policy starts. Cedar keeps the source text of a parsed policy but exposes no
/// span for it, so look the text up, in order, in its file.
fn policy_location(
    policy: &Policy,
    text: &str,
    search_from: &mut usize,
) -> (Option<usize>, Option<usize>) {
    let source = policy.to_string();
    match text
        .get(*search_from..)
        .and_then(|rest| rest.find(source.trim()))
    {
        Some(found) => {
            let offset = *search_from + found;
            *search_from = offset + source.trim().len();
            let (line, column) = line_column(text, offset);
            (Some(line), Some(column))
        }
        None => (None, None),
    }
}

/// One problem per labelled span of a Cedar diagnostic (or one without a location).
pub(crate) fn diagnostic_problems(
    file: &str,
    text: &str,
    diagnostic: &dyn miette::Diagnostic,
) -> Vec<PolicyProblem> {
    let mut message = diagnostic.to_string();
    if let Some(help) = diagnostic.help() {
        message.push_str(&format!(" (help: {help})"));
    }
    let offsets: Vec<usize> = diagnostic
        .labels()
        .map(|labels| labels.map(|l| l.offset()).collect())
        .unwrap_or_default();
    match offsets.first() {
        Some(&offset) if !text.is_empty() => {
            let (line, column) = line_column(text, offset);
            vec![PolicyProblem {
                file: file.to_owned(),
                line: Some(line),
                column: Some(column),
                message,
            }]
        }
        _ => vec![PolicyProblem {
            file: file.to_owned(),
            line: None,
            column: None,
            message,
        }],
    }
}

/// 1-based line and character column of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(text: &str) -> ContextNeeds {
        ContextNeeds::of(&Policy::parse(None, text).unwrap())
    }

    /// The names in `names` that `includes` says the needs include, in their order.
    fn included(names: &[&'static str], includes: impl Fn(&str) -> bool) -> Vec<&'static str> {
        names
            .iter()
            .copied()
            .filter(|name| includes(name))
            .collect()
    }

    fn attributes(needs: ContextNeeds) -> Vec<&'static str> {
        included(&CONTEXT_ATTRIBUTES, |attribute| needs.includes(attribute))
    }

    fn session_attributes(needs: ContextNeeds) -> Vec<&'static str> {
        included(&SESSION_ATTRIBUTES, |attribute| {
            needs.includes_session(attribute)
        })
    }

    #[test]
    fn context_needs_are_the_attributes_a_policy_reads() {
        assert_eq!(
            attributes(needs("permit(principal, action, resource);")),
            Vec::<&str>::new()
        );
        assert_eq!(
            attributes(needs(
                r#"forbid(principal, action, resource)
                   when { context.findings.categories.contains("secret") };"#
            )),
            ["findings"]
        );
        assert_eq!(
            attributes(needs(
                r#"permit(principal, action, resource)
                   when { context has session && context.session.call_count < 3 }
                   unless { context.auth.mfa || context.arguments.x == principal.groups };"#
            )),
            ["arguments", "session", "auth"]
        );
        // Index syntax is the same read.
        assert_eq!(
            attributes(needs(
                r#"permit(principal, action, resource) when { context["time"]["hour"] < 9 };"#
            )),
            ["time"]
        );
    }

    /// `call_count` changes on every call: a context that carries it only for the policies
    /// that read it stays equal from call to call (the engine's decision memo).
    #[test]
    fn session_needs_are_the_session_attributes_a_policy_reads() {
        let taint = needs(
            r#"forbid(principal, action, resource)
               when { context has session && context.session.taint.contains("untrusted") };"#,
        );
        assert_eq!(attributes(taint), ["session"]);
        assert_eq!(session_attributes(taint), ["taint"]);
        let count = needs(
            r#"forbid(principal, action, resource)
               when { context.session has call_count && context.session["call_count"] > 9 };"#,
        );
        assert_eq!(session_attributes(count), ["call_count"]);
        assert_eq!(
            session_attributes(needs(
                r#"permit(principal, action, resource) when { context has session };"#
            )),
            Vec::<&str>::new()
        );
        // The record read as a whole, or an attribute airlock does not provide: all of it.
        for text in [
            r#"permit(principal, action, resource) when { context.session == {} };"#,
            r#"permit(principal, action, resource) when { context.session.not_a_session_attribute };"#,
        ] {
            assert_eq!(attributes(needs(text)), ["session"], "{text}");
            assert_eq!(
                session_attributes(needs(text)),
                SESSION_ATTRIBUTES,
                "{text}"
            );
        }
        assert_eq!(session_attributes(ContextNeeds::ALL), SESSION_ATTRIBUTES);
    }

    #[test]
    fn context_used_as_a_whole_or_by_an_unknown_name_needs_everything() {
        for text in [
            r#"permit(principal, action, resource) when { context == {"a": 1} };"#,
            r#"permit(principal, action, resource) when { {"c": context}.c has auth };"#,
            r#"permit(principal, action, resource) when { context.not_an_airlock_attribute };"#,
        ] {
            assert_eq!(attributes(needs(text)), CONTEXT_ATTRIBUTES, "{text}");
        }
        // Attribute names of other things are not context attributes.
        assert_eq!(
            attributes(needs(
                r#"permit(principal, action, resource) when { resource.labels.contains("time") };"#
            )),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn builtin_pack_validates_against_the_schema() {
        let snapshot = PolicySnapshot::load(PolicyConfig::default()).unwrap();
        assert!(snapshot.policies().len() >= 10);
        assert!(
            snapshot
                .policies()
                .iter()
                .any(|p| p.id == "support.customer_data_needs_fresh_mfa"
                    && p.step_up.as_ref().and_then(|s| s.max_age) == Some(900))
        );
    }

    #[test]
    fn type_error_is_reported_with_file_line_and_column() {
        let sources = vec![(
            "custom.cedar".to_owned(),
            "permit(principal, action == Action::\"call_tool\", resource);\n\
             forbid(principal, action == Action::\"call_tool\", resource)\n  when { context.auth.mfa == 3 };\n"
                .to_owned(),
        )];
        let problems = PolicySnapshot::from_sources(PolicyConfig::default(), &sources).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].file, "custom.cedar");
        assert_eq!(problems[0].line, Some(3), "{}", problems[0]);
        assert!(problems[0].column.is_some());
    }

    #[test]
    fn parse_errors_in_two_files_are_all_reported() {
        let sources = vec![
            (
                "a.cedar".to_owned(),
                "permit(principal, action, resource)\n".to_owned(),
            ),
            (
                "b.cedar".to_owned(),
                "\n\nforbid(principal action, resource);".to_owned(),
            ),
        ];
        let problems = PolicySnapshot::from_sources(PolicyConfig::default(), &sources).unwrap_err();
        let files: Vec<_> = problems.iter().map(|p| p.file.as_str()).collect();
        assert!(
            files.contains(&"a.cedar") && files.contains(&"b.cedar"),
            "{problems:?}"
        );
        let b = problems.iter().find(|p| p.file == "b.cedar").unwrap();
        assert_eq!(b.line, Some(3), "{b}");
    }

    #[test]
    fn rejects_unknown_outcome_and_step_up_parameters_elsewhere() {
        let sources = vec![(
            "x.cedar".to_owned(),
            "@outcome(\"maybe\") forbid(principal, action, resource);\n\
             @id(\"two\") @max_age(\"60\") @outcome(\"require_approval\") forbid(principal, action, resource);\n"
                .to_owned(),
        )];
        let problems = PolicySnapshot::from_sources(PolicyConfig::default(), &sources).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].message.contains("maybe"));
        assert_eq!(problems[1].line, Some(2));
    }

    #[test]
    fn impossible_policy_is_rejected_with_a_hint() {
        let sources = vec![(
            "x.cedar".to_owned(),
            "forbid(principal, action == Action::\"call_tool\", resource)\n  when { context.arguments has url };\n"
                .to_owned(),
        )];
        let problems = PolicySnapshot::from_sources(PolicyConfig::default(), &sources).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.contains("declare NAME"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let sources = vec![(
            "x.cedar".to_owned(),
            "@id(\"a\") permit(principal, action, resource);\n@id(\"a\") forbid(principal, action, resource);\n"
                .to_owned(),
        )];
        let problems = PolicySnapshot::from_sources(PolicyConfig::default(), &sources).unwrap_err();
        assert!(problems[0].message.contains("`a`"), "{problems:?}");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé d", 7), (2, 4));
        assert_eq!(line_column("", 5), (1, 1));
    }
}
