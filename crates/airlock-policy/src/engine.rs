//! Evaluation: a [`Request`] in, a [`Decision`] out — never a panic, never an error value a
//! caller could forget to handle. Invalid input and Cedar evaluation errors are denies that
//! name the problem.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use airlock_core::{Category, Decision, Finding, Outcome, Principal, StepUpChallenge};
use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet,
    RestrictedExpression,
};
use serde_json::Value;

use crate::dataflow::DataFlow;
use crate::session::SessionSnapshot;
use crate::snapshot::{ContextNeeds, PolicyMeta, PolicySnapshot, SHAPE_CACHE_LIMIT};

/// The Cedar actions airlock asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// An agent calls a tool (resource: the tool).
    CallTool,
    /// A tool appears in a `tools/list` answer (resource: the tool).
    ListTools,
    /// A prompt goes to a model (resource: the model server).
    SendPrompt,
    /// A completion comes back from a model (resource: the model server).
    ReceiveCompletion,
    /// A tool result comes back to the agent (resource: the tool).
    ReceiveToolResult,
}

impl Action {
    /// The Cedar action id.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::CallTool => "call_tool",
            Action::ListTools => "list_tools",
            Action::SendPrompt => "send_prompt",
            Action::ReceiveCompletion => "receive_completion",
            Action::ReceiveToolResult => "receive_tool_result",
        }
    }

    /// How many actions there are: every [`Action::index`] is below it.
    const COUNT: usize = 5;

    /// A dense number per action, for per-action tables.
    fn index(self) -> usize {
        match self {
            Action::CallTool => 0,
            Action::ListTools => 1,
            Action::SendPrompt => 2,
            Action::ReceiveCompletion => 3,
            Action::ReceiveToolResult => 4,
        }
    }

    /// Whether the resource is a tool (otherwise a server).
    pub fn is_about_a_tool(self) -> bool {
        matches!(
            self,
            Action::CallTool | Action::ListTools | Action::ReceiveToolResult
        )
    }
}

/// The tool a request is about, as the surface knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRef {
    /// The tool's name, as configured in `[tools.NAME]`.
    pub name: String,
    /// The server it came from, if the surface knows.
    #[serde(default)]
    pub server: Option<String>,
    /// Labels the surface resolved from its own configuration; merged with the snapshot's
    /// `[tools.NAME]` labels.
    #[serde(default)]
    pub labels: BTreeSet<String>,
}

impl ToolRef {
    /// A tool known only by name (labels come from the configuration).
    pub fn named(name: impl Into<String>) -> ToolRef {
        ToolRef {
            name: name.into(),
            ..ToolRef::default()
        }
    }
}

/// A tenant and region; `""` for unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Tenant.
    #[serde(default)]
    pub tenant: String,
    /// Region.
    #[serde(default)]
    pub region: String,
}

impl Scope {
    /// A principal's scope from `Principal.tenant`, written `tenant` or `tenant/region`.
    pub fn of_principal(principal: &Principal) -> Scope {
        match principal.tenant.as_deref() {
            None => Scope::default(),
            Some(text) => match text.split_once('/') {
                Some((tenant, region)) => Scope {
                    tenant: tenant.to_owned(),
                    region: region.to_owned(),
                },
                None => Scope {
                    tenant: text.to_owned(),
                    region: String::new(),
                },
            },
        }
    }
}

/// Everything the engine needs to decide one action.
#[derive(Debug, Clone)]
pub struct Request {
    /// Who acts (from authentication, never from the request body).
    pub principal: Principal,
    /// What they do.
    pub action: Action,
    /// The tool, for tool actions.
    pub tool: Option<ToolRef>,
    /// The model server, for prompt and completion actions (`default` when `None`).
    pub server: Option<String>,
    /// The tool call's JSON arguments (`Value::Null` when none).
    pub arguments: Value,
    /// The session as it is before this action.
    pub session: SessionSnapshot,
    /// What the detectors found in this action's content.
    pub findings: Vec<Finding>,
    /// Sensitive values of this session found in the arguments
    /// ([`crate::SessionStore::check_outbound`]).
    pub data_flows: Vec<DataFlow>,
    /// The scope of the resource touched, overriding `tenant_argument`/`region_argument`.
    pub resource_scope: Option<Scope>,
    /// Request time, seconds since the Unix epoch.
    pub now: i64,
}

impl Request {
    /// A tool call with no session history or findings, at the current time.
    pub fn call_tool(principal: Principal, tool: impl Into<String>, arguments: Value) -> Request {
        Request {
            principal,
            action: Action::CallTool,
            tool: Some(ToolRef::named(tool)),
            server: None,
            arguments,
            session: SessionSnapshot::default(),
            findings: Vec::new(),
            data_flows: Vec::new(),
            resource_scope: None,
            now: now_unix(),
        }
    }
}

/// The top-level attributes of the request `context` (`policies/airlock.cedarschema`), each
/// built only when a policy that may apply reads it ([`ContextNeeds`]).
pub(crate) const CONTEXT_ATTRIBUTES: [&str; 8] = [
    "arguments",
    "argument_names",
    "session",
    "findings",
    "auth",
    "time",
    "principal_scope",
    "resource_scope",
];

/// The attributes of `context.session`, each built only when a policy that may apply reads it.
pub(crate) const SESSION_ATTRIBUTES: [&str; 3] = ["taint", "tools_used", "call_count"];

/// A decision is remembered ([`DecisionMemo`]) only for requests whose arguments, keys and
/// string values together, are at most this many bytes: the memo holds the context, and the
/// context holds the arguments.
const MEMO_ARGUMENT_BYTES: usize = 1024;

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `context.auth.age_seconds` when the authentication time is unknown: every freshness test
/// fails.
pub const UNKNOWN_AUTH_AGE: i64 = i64::MAX;
/// Clock skew tolerated for an `auth_time` in the future.
const AUTH_TIME_SKEW: i64 = 300;

/// Evaluates requests against one [`PolicySnapshot`].
#[derive(Debug, Clone)]
pub struct PolicyEngine {
    snapshot: Arc<PolicySnapshot>,
    authorizer: Arc<Authorizer>,
}

impl PolicyEngine {
    /// An engine over `snapshot`.
    pub fn new(snapshot: impl Into<Arc<PolicySnapshot>>) -> PolicyEngine {
        PolicyEngine {
            snapshot: snapshot.into(),
            authorizer: Arc::new(Authorizer::new()),
        }
    }

    /// The snapshot evaluated.
    pub fn snapshot(&self) -> &PolicySnapshot {
        &self.snapshot
    }

    /// Decides `request`. See the crate documentation for the combination rules.
    pub fn authorize(&self, request: &Request) -> Decision {
        match self.evaluate(request) {
            Ok(decision) => decision,
            Err(reason) => Decision::deny(reason),
        }
    }

    /// Which of `tools` `principal` may see in a tool listing: those whose `list_tools`
    /// decision is anything but `deny` (a tool that needs approval is still shown, so the
    /// agent can ask for it).
    pub fn visible_tools(
        &self,
        principal: &Principal,
        tools: &[ToolRef],
        session: &SessionSnapshot,
        now: i64,
    ) -> Vec<ToolRef> {
        tools
            .iter()
            .filter(|tool| {
                let request = Request {
                    principal: principal.clone(),
                    action: Action::ListTools,
                    tool: Some((*tool).clone()),
                    server: None,
                    arguments: Value::Null,
                    session: session.clone(),
                    findings: Vec::new(),
                    data_flows: Vec::new(),
                    resource_scope: None,
                    now,
                };
                self.authorize(&request).outcome != Outcome::Deny
            })
            .cloned()
            .collect()
    }

    fn evaluate(&self, request: &Request) -> Result<Decision, String> {
        let snapshot = &*self.snapshot;
        let shape = self.shape(request)?;
        let built = &shape.built;
        let subset = shape.subset(request.action, snapshot)?;
        let context = self.context(request, subset.needs)?;
        let memo = &shape.decisions[request.action.index()];
        let remember = arguments_fit_in_memo(&request.arguments, MEMO_ARGUMENT_BYTES);
        if remember && let Some(decision) = memo.get(&context) {
            return Ok(decision);
        }
        let remembered_context = remember.then(|| context.clone());
        let context =
            Context::from_pairs(context).map_err(|e| format!("invalid request context: {e}"))?;
        // No schema check of the request or the entities here: both are built by this module
        // in the schema's shape (the arguments by their declared types), and a value of the
        // wrong type would make the policy reading it fail to evaluate — which is a deny. The
        // checks cost more than evaluating the whole built-in pack.
        let cedar_request = cedar_policy::Request::new(
            built.principal.clone(),
            subset.action.clone(),
            built.resource.clone(),
            context,
            None,
        )
        .map_err(|e| format!("invalid request: {e}"))?;
        let response =
            self.authorizer
                .is_authorized(&cedar_request, &subset.policies, &built.entities);

        // Fail closed on any evaluation error: a policy that could not be evaluated might
        // have been the forbid that mattered.
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        let decision = if errors.is_empty() {
            let satisfied: Vec<&PolicyMeta> = response
                .diagnostics()
                .reason()
                .filter_map(|id| snapshot.meta.get(id))
                .collect();
            combine(&satisfied, request.action, &built.resource_name)
        } else {
            Decision::deny(format!(
                "policy evaluation failed, denying: {}",
                errors.join("; ")
            ))
        };
        if let Some(context) = remembered_context {
            memo.set(context, decision.clone());
        }
        Ok(decision)
    }

    /// The request's entities and policy subsets, from the snapshot's cache or built now.
    fn shape(&self, request: &Request) -> Result<Arc<Shape>, String> {
        let key = ShapeKey::of(request);
        if let Some(shape) = self.snapshot.shapes.get(&key) {
            return Ok(shape);
        }
        let shape = Arc::new(Shape {
            built: self.entities(request)?,
            subsets: Default::default(),
            decisions: Default::default(),
        });
        self.snapshot.shapes.insert(key, Arc::clone(&shape));
        Ok(shape)
    }

    fn entities(&self, request: &Request) -> Result<Built, String> {
        let snapshot = &*self.snapshot;
        let principal = &request.principal;
        let mut roles: BTreeSet<&str> = principal.roles.iter().map(String::as_str).collect();
        if let Some(agent) = &principal.agent
            && let Some(extra) = snapshot.config.agent_roles.get(agent)
        {
            roles.extend(extra.iter().map(String::as_str));
        }
        let role_uids = roles
            .iter()
            .map(|r| uid("Role", r))
            .collect::<Result<HashSet<_>, _>>()?;
        let principal_ancestors: Vec<EntityUid> = role_uids.iter().cloned().collect();
        let groups = RestrictedExpression::new_set(
            principal
                .groups
                .iter()
                .map(|g| RestrictedExpression::new_string(g.clone())),
        );

        let mut entities = Vec::new();
        for role in &role_uids {
            entities.push(Entity::new_no_attrs(role.clone(), HashSet::new()));
        }
        let user_uid = match &principal.user {
            Some(user) => {
                let user_uid = uid("User", user)?;
                let attrs = HashMap::from([("groups".to_owned(), groups.clone())]);
                entities.push(
                    Entity::new(user_uid.clone(), attrs, role_uids.clone())
                        .map_err(|e| format!("invalid principal: {e}"))?,
                );
                Some(user_uid)
            }
            None => None,
        };
        let principal_uid = match (&principal.agent, &user_uid) {
            (None, Some(user_uid)) => user_uid.clone(),
            (agent, _) => {
                let agent_uid = uid("Agent", agent.as_deref().unwrap_or("anonymous"))?;
                let mut attrs = HashMap::from([("groups".to_owned(), groups)]);
                if let Some(user_uid) = &user_uid {
                    attrs.insert(
                        "user".to_owned(),
                        RestrictedExpression::new_entity_uid(user_uid.clone()),
                    );
                }
                entities.push(
                    Entity::new(agent_uid.clone(), attrs, role_uids)
                        .map_err(|e| format!("invalid principal: {e}"))?,
                );
                agent_uid
            }
        };

        let (resource_uid, resource_name, resource_ancestors) = if request.action.is_about_a_tool()
        {
            let tool = request.tool.as_ref().ok_or_else(|| {
                format!(
                    "{} needs a tool, and the request names none",
                    request.action.as_str()
                )
            })?;
            let configured = snapshot.config.tools.get(&tool.name);
            let mut labels: BTreeSet<&str> = tool.labels.iter().map(String::as_str).collect();
            if let Some(config) = configured {
                labels.extend(config.labels.iter().map(String::as_str));
            }
            let server = tool
                .server
                .as_deref()
                .or_else(|| configured.and_then(|c| c.server.as_deref()))
                .unwrap_or("");
            let server_uid = uid("Server", server)?;
            entities.push(Entity::new_no_attrs(server_uid.clone(), HashSet::new()));
            let tool_uid = uid("Tool", &tool.name)?;
            let attrs = HashMap::from([
                (
                    "labels".to_owned(),
                    RestrictedExpression::new_set(
                        labels
                            .iter()
                            .map(|l| RestrictedExpression::new_string((*l).to_owned())),
                    ),
                ),
                (
                    "server".to_owned(),
                    RestrictedExpression::new_string(server.to_owned()),
                ),
            ]);
            entities.push(
                Entity::new(tool_uid.clone(), attrs, HashSet::from([server_uid.clone()]))
                    .map_err(|e| format!("invalid tool: {e}"))?,
            );
            (tool_uid, tool.name.clone(), vec![server_uid])
        } else {
            let server = request.server.as_deref().unwrap_or("default");
            let server_uid = uid("Server", server)?;
            entities.push(Entity::new_no_attrs(server_uid.clone(), HashSet::new()));
            (server_uid, server.to_owned(), Vec::new())
        };

        let entities = Entities::from_entities(entities, None)
            .map_err(|e| format!("invalid request entities: {e}"))?;
        Ok(Built {
            entities,
            principal: principal_uid,
            principal_ancestors,
            resource: resource_uid,
            resource_name,
            resource_ancestors,
        })
    }

    /// The request context's attributes: the arguments always (they are checked against the
    /// tool's declared types whether a policy reads them or not), the others when `needs` says
    /// a policy in the subset reads them.
    fn context(&self, request: &Request, needs: ContextNeeds) -> Result<ContextPairs, String> {
        let snapshot = &*self.snapshot;
        let tool_config = request
            .tool
            .as_ref()
            .and_then(|t| snapshot.config.tools.get(&t.name));

        // Only the arguments the calling tool declares are typed into the record; a value
        // another tool declares under the same name is not this tool's to interpret.
        let empty = serde_json::Map::new();
        let object = match &request.arguments {
            Value::Object(map) => map,
            Value::Null => &empty,
            other => {
                return Err(format!(
                    "invalid request: tool arguments must be a JSON object, got {}",
                    match other {
                        Value::Array(_) => "an array",
                        Value::String(_) => "a string",
                        _ => "a scalar",
                    }
                ));
            }
        };
        let declared = tool_config.map(|c| &c.arguments);
        let arguments = match declared {
            Some(fields) => crate::args::record(fields, object).map_err(|e| {
                let tool = request.tool.as_ref().map_or("", |t| t.name.as_str());
                format!("invalid arguments for `{tool}`: {e}")
            })?,
            None => RestrictedExpression::new_record(Vec::new()).map_err(|e| e.to_string())?,
        };
        let mut pairs = vec![("arguments".to_owned(), arguments)];
        if needs.includes("argument_names") {
            pairs.push(("argument_names".to_owned(), strings(object.keys().cloned())));
        }
        if needs.includes("session") {
            let session = &request.session;
            let mut fields = Vec::new();
            if needs.includes_session("taint") {
                fields.push(("taint", strings(session.taint.iter().cloned())));
            }
            if needs.includes_session("tools_used") {
                fields.push(("tools_used", strings(session.tools_used.keys().cloned())));
            }
            if needs.includes_session("call_count") {
                fields.push(("call_count", long(session.call_count)));
            }
            pairs.push(("session".to_owned(), record(fields)?));
        }
        if needs.includes("findings") {
            let findings = summarise(&request.findings, &request.data_flows)?;
            pairs.push(("findings".to_owned(), findings));
        }
        if needs.includes("auth") {
            let auth = &request.principal.auth;
            let age = match auth.auth_time {
                Some(t) if t <= request.now.saturating_add(AUTH_TIME_SKEW) => {
                    request.now.saturating_sub(t).max(0)
                }
                _ => UNKNOWN_AUTH_AGE,
            };
            let auth_expr = record([
                (
                    "acr",
                    RestrictedExpression::new_string(auth.acr.clone().unwrap_or_default()),
                ),
                ("amr", strings(auth.amr.iter().cloned())),
                ("age_seconds", RestrictedExpression::new_long(age)),
                ("mfa", RestrictedExpression::new_bool(is_mfa(&auth.amr))),
            ])?;
            pairs.push(("auth".to_owned(), auth_expr));
        }
        if needs.includes("time") {
            let days = request.now.div_euclid(86_400);
            let time = record([
                ("unix", RestrictedExpression::new_long(request.now)),
                (
                    "hour",
                    RestrictedExpression::new_long(request.now.rem_euclid(86_400) / 3600),
                ),
                // 1970-01-01 was a Thursday (4).
                (
                    "weekday",
                    RestrictedExpression::new_long((days + 3).rem_euclid(7) + 1),
                ),
            ])?;
            pairs.push(("time".to_owned(), time));
        }
        if needs.includes("principal_scope") {
            let principal_scope = Scope::of_principal(&request.principal);
            pairs.push(("principal_scope".to_owned(), scope(&principal_scope)?));
        }
        if needs.includes("resource_scope") {
            let string_arg = |name: Option<&String>| -> String {
                name.and_then(|n| object.get(n))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let resource_scope = request.resource_scope.clone().unwrap_or_else(|| Scope {
                tenant: string_arg(tool_config.and_then(|c| c.tenant_argument.as_ref())),
                region: string_arg(tool_config.and_then(|c| c.region_argument.as_ref())),
            });
            pairs.push(("resource_scope".to_owned(), scope(&resource_scope)?));
        }
        Ok(pairs)
    }
}

/// What a request's principal and resource make of one snapshot: the Cedar entities, and per
/// action the policies whose head can match and the last decision. Everything in it follows
/// from the [`ShapeKey`] fields and the snapshot, so it is built once per snapshot and reused
/// by every request of that shape (a reload builds a new snapshot with an empty cache).
pub(crate) struct Shape {
    built: Built,
    /// Per [`Action::index`], filled on first use.
    subsets: [OnceLock<Subset>; Action::COUNT],
    /// Per [`Action::index`]: the last decision and the context it was made in.
    decisions: [DecisionMemo; Action::COUNT],
}

/// One action's part of a [`Shape`].
struct Subset {
    /// The action's Cedar uid.
    action: EntityUid,
    /// The policies whose head can match.
    policies: PolicySet,
    /// What those policies read of the context.
    needs: ContextNeeds,
}

impl Shape {
    fn subset(&self, action: Action, snapshot: &PolicySnapshot) -> Result<&Subset, String> {
        let slot = &self.subsets[action.index()];
        if let Some(subset) = slot.get() {
            return Ok(subset);
        }
        let action_uid = uid("Action", action.as_str())?;
        let (policies, needs) = snapshot.policies_for(
            &action_uid,
            &self.built.principal,
            &self.built.principal_ancestors,
            &self.built.resource,
            &self.built.resource_ancestors,
        );
        Ok(slot.get_or_init(|| Subset {
            action: action_uid,
            policies,
            needs,
        }))
    }
}

/// Every request field the entities are built from ([`PolicyEngine::entities`]); two requests
/// with equal keys get equal entities.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ShapeKey {
    agent: Option<String>,
    user: Option<String>,
    roles: Vec<String>,
    groups: Vec<String>,
    resource: ResourceKey,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ResourceKey {
    /// A tool action's tool, with what the surface said about it.
    Tool {
        name: String,
        server: Option<String>,
        labels: BTreeSet<String>,
    },
    /// A tool action whose request names no tool (an error when built, never cached).
    NoTool,
    /// A prompt or completion's model server.
    Server(Option<String>),
}

impl ShapeKey {
    fn of(request: &Request) -> ShapeKey {
        let principal = &request.principal;
        let resource = if request.action.is_about_a_tool() {
            match &request.tool {
                Some(tool) => ResourceKey::Tool {
                    name: tool.name.clone(),
                    server: tool.server.clone(),
                    labels: tool.labels.clone(),
                },
                None => ResourceKey::NoTool,
            }
        } else {
            ResourceKey::Server(request.server.clone())
        };
        ShapeKey {
            agent: principal.agent.clone(),
            user: principal.user.clone(),
            roles: principal.roles.clone(),
            groups: principal.groups.clone(),
            resource,
        }
    }
}

/// [`Shape`]s by key, per snapshot. Cleared when it reaches [`SHAPE_CACHE_LIMIT`] entries, so
/// memory stays bounded however many principals and tools there are.
#[derive(Default)]
pub(crate) struct ShapeCache(Mutex<HashMap<ShapeKey, Arc<Shape>>>);

impl ShapeCache {
    fn get(&self, key: &ShapeKey) -> Option<Arc<Shape>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn insert(&self, key: ShapeKey, shape: Arc<Shape>) {
        let mut shapes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if shapes.len() >= SHAPE_CACHE_LIMIT {
            shapes.clear();
        }
        shapes.insert(key, shape);
    }
}

impl std::fmt::Debug for ShapeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shapes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len();
        write!(f, "ShapeCache({shapes} shapes)")
    }
}

/// The attributes of a request `context`, as [`Context::from_pairs`] takes them.
type ContextPairs = Vec<(String, RestrictedExpression)>;

/// The last decision made for one shape and action, with the context it was made in.
///
/// Cedar evaluation is deterministic: the same policies, entities and context always give the
/// same answer. Within one [`Shape`] and action the policies (the subset) and the entities are
/// fixed, so a request whose context equals the remembered one gets the remembered decision
/// without evaluating. The key is the context's attributes themselves, exactly what Cedar
/// would be given, so it cannot drift from what the policies read; and because the engine
/// builds only the attributes the policies read ([`ContextNeeds`]), a context stays equal from
/// call to call unless something a policy reads changed. One entry per shape and action keeps
/// memory bounded, with [`MEMO_ARGUMENT_BYTES`] bounding the entry.
#[derive(Default)]
struct DecisionMemo(Mutex<Option<(ContextPairs, Decision)>>);

impl DecisionMemo {
    fn get(&self, context: &ContextPairs) -> Option<Decision> {
        let remembered = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*remembered {
            Some((key, decision)) if key == context => Some(decision.clone()),
            _ => None,
        }
    }

    fn set(&self, context: ContextPairs, decision: Decision) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((context, decision));
    }
}

/// Whether `arguments`' keys and string values add up to at most `budget` bytes (other values
/// count 8 each).
fn arguments_fit_in_memo(arguments: &Value, budget: usize) -> bool {
    fn size(value: &Value, left: &mut usize) -> bool {
        let cost = match value {
            Value::String(text) => text.len(),
            _ => 8,
        };
        let Some(rest) = left.checked_sub(cost) else {
            return false;
        };
        *left = rest;
        match value {
            Value::Array(items) => items.iter().all(|item| size(item, left)),
            Value::Object(map) => map.iter().all(|(key, item)| {
                left.checked_sub(key.len()).is_some_and(|rest| {
                    *left = rest;
                    size(item, left)
                })
            }),
            _ => true,
        }
    }
    let mut left = budget;
    size(arguments, &mut left)
}

/// The Cedar entities of one request, and the uids the policy subset is chosen by.
struct Built {
    entities: Entities,
    principal: EntityUid,
    /// The principal's roles (its only ancestors in airlock's hierarchy).
    principal_ancestors: Vec<EntityUid>,
    resource: EntityUid,
    resource_name: String,
    /// The tool's server; none for a server resource.
    resource_ancestors: Vec<EntityUid>,
}

/// Applies airlock's combination rules to the policies Cedar found satisfied.
fn combine(satisfied: &[&PolicyMeta], action: Action, resource: &str) -> Decision {
    // 1. A plain forbid (outcome deny) dominates everything.
    let hard: Vec<&PolicyMeta> = satisfied
        .iter()
        .copied()
        .filter(|m| m.forbid && m.outcome == Outcome::Deny)
        .collect();
    if !hard.is_empty() {
        return decision(Outcome::Deny, &hard);
    }
    // 2. Without a permit nothing is allowed — not even with approval: a soft forbid
    //    restricts what is permitted, it never grants.
    if !satisfied.iter().any(|m| !m.forbid) {
        let mut reasons = vec![no_permit_reason(action, resource)];
        reasons.extend(satisfied.iter().map(|m| m.reason_text()));
        return Decision {
            outcome: Outcome::Deny,
            reasons,
            policy_ids: satisfied.iter().map(|m| m.id.clone()).collect(),
            step_up: None,
        };
    }
    // 3. The strongest outcome among the satisfied permits and soft forbids wins.
    let strongest = satisfied
        .iter()
        .map(|m| m.outcome)
        .max_by_key(|o| strength(*o))
        .unwrap_or(Outcome::Allow);
    let determining: Vec<&PolicyMeta> = satisfied
        .iter()
        .copied()
        .filter(|m| m.outcome == strongest)
        .collect();
    decision(strongest, &determining)
}

/// deny > step_up > require_approval > redact > allow. Step-up outranks approval because a
/// human approving a call made under a weak or stale login would approve the wrong person.
pub fn strength(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Allow => 0,
        Outcome::Redact => 1,
        Outcome::RequireApproval => 2,
        Outcome::StepUp => 3,
        Outcome::Deny => 4,
    }
}

fn decision(outcome: Outcome, determining: &[&PolicyMeta]) -> Decision {
    let mut sorted: Vec<&PolicyMeta> = determining.to_vec();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let step_up = (outcome == Outcome::StepUp).then(|| {
        let mut challenge = StepUpChallenge {
            acr_values: Vec::new(),
            max_age: None,
        };
        for meta in &sorted {
            if let Some(s) = &meta.step_up {
                for acr in &s.acr_values {
                    if !challenge.acr_values.contains(acr) {
                        challenge.acr_values.push(acr.clone());
                    }
                }
                challenge.max_age = match (challenge.max_age, s.max_age) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        challenge
    });
    Decision {
        outcome,
        reasons: sorted.iter().map(|m| m.reason_text()).collect(),
        policy_ids: sorted.iter().map(|m| m.id.clone()).collect(),
        step_up,
    }
}

fn no_permit_reason(action: Action, resource: &str) -> String {
    if action.is_about_a_tool() {
        let key = if resource
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            resource.to_owned()
        } else {
            format!("{resource:?}")
        };
        format!(
            "no policy permits {} on `{resource}`; label the tool in airlock.toml \
             [tools.{key}] (e.g. labels = [\"read_only\"]) or add a permit policy",
            action.as_str()
        )
    } else {
        format!(
            "no policy permits {} on `{resource}`; add a permit policy",
            action.as_str()
        )
    }
}

/// RFC 8176: `mfa` says so outright; otherwise two different factor classes
/// (knowledge, possession, inherence) count as multi-factor.
fn is_mfa(amr: &[String]) -> bool {
    let mut classes = [false; 3];
    for method in amr {
        match method.as_str() {
            "mfa" => return true,
            "pwd" | "pin" | "kba" => classes[0] = true,
            "otp" | "hwk" | "swk" | "sc" | "sms" | "tel" | "pop" => classes[1] = true,
            "fpt" | "face" | "iris" | "retina" | "vbm" | "user" => classes[2] = true,
            _ => {}
        }
    }
    classes.iter().filter(|c| **c).count() >= 2
}

fn summarise(findings: &[Finding], flows: &[DataFlow]) -> Result<RestrictedExpression, String> {
    let max_injection = findings
        .iter()
        .filter(|f| f.category == Category::Injection)
        .map(|f| (f.score.clamp(0.0, 1.0) * 100.0).round() as i64)
        .max()
        .unwrap_or(0);
    let categories: BTreeSet<String> = findings
        .iter()
        .map(|f| f.category.as_str().to_owned())
        .collect();
    let rules: BTreeSet<String> = findings.iter().map(Finding::qualified_rule).collect();
    let shell_danger = findings
        .iter()
        .any(|f| f.detector == "shell" || f.category == Category::DangerousCommand);
    let data_flow = !flows.is_empty() || findings.iter().any(|f| f.detector == "dataflow");
    let sources: BTreeSet<String> = flows.iter().map(|f| f.source_tool.clone()).collect();
    record([
        (
            "max_injection_score",
            RestrictedExpression::new_long(max_injection),
        ),
        ("categories", strings(categories)),
        ("rules", strings(rules)),
        ("shell_danger", RestrictedExpression::new_bool(shell_danger)),
        ("data_flow", RestrictedExpression::new_bool(data_flow)),
        ("data_flow_sources", strings(sources)),
    ])
}

fn scope(scope: &Scope) -> Result<RestrictedExpression, String> {
    record([
        (
            "tenant",
            RestrictedExpression::new_string(scope.tenant.clone()),
        ),
        (
            "region",
            RestrictedExpression::new_string(scope.region.clone()),
        ),
    ])
}

fn record<'a>(
    fields: impl IntoIterator<Item = (&'a str, RestrictedExpression)>,
) -> Result<RestrictedExpression, String> {
    RestrictedExpression::new_record(fields.into_iter().map(|(k, v)| (k.to_owned(), v)))
        .map_err(|e| format!("invalid request context: {e}"))
}

fn strings(items: impl IntoIterator<Item = String>) -> RestrictedExpression {
    RestrictedExpression::new_set(items.into_iter().map(RestrictedExpression::new_string))
}

fn long(n: u64) -> RestrictedExpression {
    RestrictedExpression::new_long(i64::try_from(n).unwrap_or(i64::MAX))
}

fn uid(kind: &str, id: &str) -> Result<EntityUid, String> {
    let type_name =
        EntityTypeName::from_str(kind).map_err(|e| format!("invalid entity type `{kind}`: {e}"))?;
    Ok(EntityUid::from_type_name_and_id(
        type_name,
        EntityId::new(id),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn action_indexes_fill_the_per_action_tables() {
        let mut seen = [false; Action::COUNT];
        for action in [
            Action::CallTool,
            Action::ListTools,
            Action::SendPrompt,
            Action::ReceiveCompletion,
            Action::ReceiveToolResult,
        ] {
            seen[action.index()] = true;
        }
        assert!(seen.iter().all(|seen| *seen));
    }

    #[test]
    fn only_small_arguments_are_remembered() {
        assert!(arguments_fit_in_memo(&Value::Null, 8));
        assert!(arguments_fit_in_memo(&json!({"path": "a/b"}), 20));
        // 4 + 3 bytes of key and value, 8 for the object.
        assert!(!arguments_fit_in_memo(&json!({"path": "a/b"}), 14));
        assert!(arguments_fit_in_memo(&json!({"path": "a/b"}), 15));
        assert!(!arguments_fit_in_memo(
            &json!({"body": "x".repeat(2000)}),
            1024
        ));
        assert!(!arguments_fit_in_memo(&json!({"n": vec![1; 200]}), 1024));
        let deep = (0..200).fold(json!(1), |inner, _| json!([inner]));
        assert!(!arguments_fit_in_memo(&deep, 1024));
    }

    #[test]
    fn mfa_needs_two_factor_classes_or_the_mfa_method() {
        assert!(is_mfa(&["mfa".into()]));
        assert!(is_mfa(&["pwd".into(), "otp".into()]));
        assert!(!is_mfa(&["pwd".into(), "pin".into()]));
        assert!(!is_mfa(&[]));
    }

    #[test]
    fn outcome_strength_orders_deny_first() {
        let mut outcomes = [
            Outcome::Allow,
            Outcome::Deny,
            Outcome::Redact,
            Outcome::StepUp,
            Outcome::RequireApproval,
        ];
        outcomes.sort_by_key(|o| std::cmp::Reverse(strength(*o)));
        assert_eq!(
            outcomes,
            [
                Outcome::Deny,
                Outcome::StepUp,
                Outcome::RequireApproval,
                Outcome::Redact,
                Outcome::Allow
            ]
        );
    }
}
