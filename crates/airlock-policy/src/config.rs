//! Policy configuration: `Raw*` structs as written in `airlock.toml`, validated whole into
//! [`PolicyConfig`].
//!
//! ```toml
//! [policy]
//! builtin_pack = true          # load policies/*.cedar shipped with airlock
//! trifecta = "require_approval" # or "deny": what egress after untrusted + private data gets
//! dir = "policies"             # extra *.cedar files of the deployment
//!
//! [policy.session]
//! ttl_seconds = 3600
//! max_sessions = 10000
//! max_fingerprints = 1024
//! injection_threshold = 0.8
//! min_private_value_len = 8
//!
//! [policy.agents.support-bot]
//! roles = ["support_agent"]
//!
//! [tools.crm_get_customer]
//! labels = ["private", "customer_data"]
//! tenant_argument = "tenant"
//! region_argument = "region"
//! arguments = { customer_id = "String", tenant = "String", region = "String" }
//! ```
//!
//! `[tools]` is a top-level table of `airlock.toml` (other parts of airlock read it too); the
//! server hands it to [`RawPolicyConfig::tools`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize;

use crate::args::ArgType;

/// `[policy]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicyConfig {
    /// Load the built-in pack (`policies/*.cedar`). Default true.
    #[serde(default)]
    pub builtin_pack: Option<bool>,
    /// `require_approval` (default) or `deny`.
    #[serde(default)]
    pub trifecta: Option<String>,
    /// A folder of extra `*.cedar` files.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Session tracking limits.
    #[serde(default)]
    pub session: RawSessionConfig,
    /// Roles granted to agents by name, added to those their credentials carry.
    #[serde(default)]
    pub agents: BTreeMap<String, RawAgentConfig>,
    /// Tool labels and argument types (`[tools.NAME]`).
    #[serde(default)]
    pub tools: BTreeMap<String, RawToolConfig>,
}

/// `[policy.agents.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAgentConfig {
    /// Roles this agent always has.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `[tools.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToolConfig {
    /// Labels policies test: `private`, `customer_data`, `untrusted_output`, `egress`,
    /// `destructive`, `privileged`, `shell`, `read_only`, `trusted`, or your own.
    #[serde(default)]
    pub labels: Vec<String>,
    /// The server the tool belongs to, when the surface does not say.
    #[serde(default)]
    pub server: Option<String>,
    /// The argument naming the tenant of the resource the call touches.
    #[serde(default)]
    pub tenant_argument: Option<String>,
    /// The argument naming the region of the resource the call touches.
    #[serde(default)]
    pub region_argument: Option<String>,
    /// Argument name → type (`String`, `Long`, `Bool`, `Decimal`, `Path`, `Set<T>`,
    /// `{ name: T, ... }`), exposed to policy as `context.arguments.NAME`. `Path` is a Cedar
    /// `String` that only a canonical absolute path maps to ([`crate::paths`]).
    #[serde(default)]
    pub arguments: BTreeMap<String, String>,
}

/// `[policy.session]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSessionConfig {
    /// Idle time after which a session is forgotten. Default 3600.
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
    /// Sessions kept at once; the least recently used is evicted. Default 10000.
    #[serde(default)]
    pub max_sessions: Option<usize>,
    /// Sensitive-value fingerprints kept per session; the oldest is evicted. Default 1024.
    #[serde(default)]
    pub max_fingerprints: Option<usize>,
    /// Injection score at or above which the session is tainted `injection_suspected`.
    /// Default 0.8.
    #[serde(default)]
    pub injection_threshold: Option<f32>,
    /// Shortest string from a `private` tool's result that is fingerprinted. Default 8.
    #[serde(default)]
    pub min_private_value_len: Option<usize>,
}

/// What egress after untrusted content and private data gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrifectaMode {
    /// `trifecta_approval.cedar`: a human approves each such call.
    #[default]
    RequireApproval,
    /// `trifecta_deny.cedar`: refused.
    Deny,
}

/// A validated `[tools.NAME]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolConfig {
    /// Labels, deduplicated.
    pub labels: BTreeSet<String>,
    /// Server name, if configured.
    pub server: Option<String>,
    /// Argument carrying the resource's tenant.
    pub tenant_argument: Option<String>,
    /// Argument carrying the resource's region.
    pub region_argument: Option<String>,
    /// Declared argument types.
    pub arguments: BTreeMap<String, ArgType>,
}

/// Validated `[policy.session]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// Idle seconds before a session is forgotten.
    pub ttl_seconds: u64,
    /// Sessions kept at once.
    pub max_sessions: usize,
    /// Fingerprints kept per session.
    pub max_fingerprints: usize,
    /// Injection score that taints the session.
    pub injection_threshold: f32,
    /// Shortest private string fingerprinted.
    pub min_private_value_len: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            ttl_seconds: 3600,
            max_sessions: 10_000,
            max_fingerprints: 1024,
            injection_threshold: 0.8,
            min_private_value_len: 8,
        }
    }
}

/// The validated policy configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// Load the built-in pack.
    pub builtin_pack: bool,
    /// Trifecta variant.
    pub trifecta: TrifectaMode,
    /// Extra policy folder.
    pub dir: Option<PathBuf>,
    /// Session limits.
    pub session: SessionConfig,
    /// Roles per agent name.
    pub agent_roles: BTreeMap<String, Vec<String>>,
    /// Tools by name: the built-in defaults (`policies/tools.toml`) overridden entry by entry.
    pub tools: BTreeMap<String, ToolConfig>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        // The built-in tool table is part of the binary and covered by a test, so it is valid.
        RawPolicyConfig::default()
            .validate()
            .unwrap_or_else(|_| PolicyConfig {
                builtin_pack: true,
                trifecta: TrifectaMode::default(),
                dir: None,
                session: SessionConfig::default(),
                agent_roles: BTreeMap::new(),
                tools: BTreeMap::new(),
            })
    }
}

/// One configuration problem, with its path (`tools.crm.labels[1]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigProblem {
    /// Where, as a dotted path.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The built-in default tool labels (`policies/tools.toml`).
pub const BUILTIN_TOOLS: &str = include_str!("../../../policies/tools.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToolsFile {
    #[serde(default)]
    tools: BTreeMap<String, RawToolConfig>,
}

impl RawPolicyConfig {
    /// Validates everything and reports every problem with its path.
    pub fn validate(&self) -> Result<PolicyConfig, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut push =
            |path: String, message: String| problems.push(ConfigProblem { path, message });

        let trifecta = match self.trifecta.as_deref() {
            None | Some("require_approval") => TrifectaMode::RequireApproval,
            Some("deny") => TrifectaMode::Deny,
            Some(other) => {
                push(
                    "policy.trifecta".into(),
                    format!("unknown mode `{other}`; known: require_approval, deny"),
                );
                TrifectaMode::RequireApproval
            }
        };

        let defaults = SessionConfig::default();
        let raw = &self.session;
        let session = SessionConfig {
            ttl_seconds: raw.ttl_seconds.unwrap_or(defaults.ttl_seconds),
            max_sessions: raw.max_sessions.unwrap_or(defaults.max_sessions),
            max_fingerprints: raw.max_fingerprints.unwrap_or(defaults.max_fingerprints),
            injection_threshold: raw
                .injection_threshold
                .unwrap_or(defaults.injection_threshold),
            min_private_value_len: raw
                .min_private_value_len
                .unwrap_or(defaults.min_private_value_len),
        };
        if session.ttl_seconds == 0 {
            push(
                "policy.session.ttl_seconds".into(),
                "must be at least 1".into(),
            );
        }
        if session.max_sessions == 0 {
            push(
                "policy.session.max_sessions".into(),
                "must be at least 1".into(),
            );
        }
        if !(0.0..=1.0).contains(&session.injection_threshold) {
            push(
                "policy.session.injection_threshold".into(),
                format!("{} is outside [0, 1]", session.injection_threshold),
            );
        }
        if session.min_private_value_len < 4 {
            push(
                "policy.session.min_private_value_len".into(),
                "must be at least 4 (shorter values match unrelated text)".into(),
            );
        }

        let mut agent_roles = BTreeMap::new();
        for (agent, raw) in &self.agents {
            for (i, role) in raw.roles.iter().enumerate() {
                if let Err(message) = check_name(role) {
                    push(format!("policy.agents.{agent}.roles[{i}]"), message);
                }
            }
            agent_roles.insert(agent.clone(), raw.roles.clone());
        }

        let mut tools = BTreeMap::new();
        match toml::from_str::<RawToolsFile>(BUILTIN_TOOLS) {
            Ok(file) => {
                for (name, raw) in &file.tools {
                    if let Some(tool) = validate_tool("builtin tools", name, raw, &mut push) {
                        tools.insert(name.clone(), tool);
                    }
                }
            }
            Err(err) => push("policies/tools.toml".into(), err.to_string()),
        }
        for (name, raw) in &self.tools {
            if let Some(tool) = validate_tool("tools", name, raw, &mut push) {
                tools.insert(name.clone(), tool);
            }
        }
        // One name, one type: `context.arguments` is a single record across all tools.
        let mut seen: BTreeMap<&str, (&str, &ArgType)> = BTreeMap::new();
        for (tool, config) in &tools {
            for (arg, ty) in &config.arguments {
                match seen.get(arg.as_str()) {
                    Some((other, other_ty)) if *other_ty != ty => push(
                        format!("tools.{tool}.arguments.{arg}"),
                        format!(
                            "declared {ty} here but {other_ty} by tool `{other}`; \
                             an argument name has one type across all tools"
                        ),
                    ),
                    _ => {
                        seen.insert(arg, (tool, ty));
                    }
                }
            }
        }

        if problems.is_empty() {
            Ok(PolicyConfig {
                builtin_pack: self.builtin_pack.unwrap_or(true),
                trifecta,
                dir: self.dir.clone(),
                session,
                agent_roles,
                tools,
            })
        } else {
            Err(problems)
        }
    }
}

fn validate_tool(
    prefix: &str,
    name: &str,
    raw: &RawToolConfig,
    push: &mut impl FnMut(String, String),
) -> Option<ToolConfig> {
    let mut ok = true;
    let mut labels = BTreeSet::new();
    for (i, label) in raw.labels.iter().enumerate() {
        match check_name(label) {
            Ok(()) => {
                labels.insert(label.clone());
            }
            Err(message) => {
                ok = false;
                push(format!("{prefix}.{name}.labels[{i}]"), message);
            }
        }
    }
    let mut arguments = BTreeMap::new();
    for (arg, ty) in &raw.arguments {
        if let Err(message) = check_name(arg) {
            ok = false;
            push(format!("{prefix}.{name}.arguments.{arg}"), message);
            continue;
        }
        match ArgType::parse(ty) {
            Ok(ty) => {
                arguments.insert(arg.clone(), ty);
            }
            Err(message) => {
                ok = false;
                push(format!("{prefix}.{name}.arguments.{arg}"), message);
            }
        }
    }
    ok.then(|| ToolConfig {
        labels,
        server: raw.server.clone(),
        tenant_argument: raw.tenant_argument.clone(),
        region_argument: raw.region_argument.clone(),
        arguments,
    })
}

/// Labels, roles and argument names end up in Cedar source and schema text: keep them to
/// identifier characters so that no configuration can inject syntax.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid name; use letters, digits and `_`, starting with a letter"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tool_table_is_valid_and_marks_read_file_read_only() {
        let config = RawPolicyConfig::default().validate().unwrap();
        assert!(config.tools["read_file"].labels.contains("read_only"));
        assert!(config.tools["write_file"].labels.contains("destructive"));
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let raw: RawPolicyConfig = toml::from_str(
            r#"
            trifecta = "maybe"
            [session]
            injection_threshold = 2.0
            [tools.crm]
            labels = ["private", "bad label"]
            arguments = { id = "Strin" }
            [tools.other]
            arguments = { id = "Long" }
            "#,
        )
        .unwrap();
        let problems = raw.validate().unwrap_err();
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"policy.trifecta"), "{problems:?}");
        assert!(paths.contains(&"policy.session.injection_threshold"));
        assert!(paths.contains(&"tools.crm.labels[1]"));
        assert!(paths.contains(&"tools.crm.arguments.id"));
    }

    #[test]
    fn one_argument_name_cannot_have_two_types() {
        let raw: RawPolicyConfig = toml::from_str(
            r#"
            [tools.a]
            arguments = { id = "String" }
            [tools.b]
            arguments = { id = "Long" }
            "#,
        )
        .unwrap();
        let problems = raw.validate().unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("one type"));
    }

    #[test]
    fn configured_tool_replaces_builtin_entry() {
        let raw: RawPolicyConfig =
            toml::from_str("[tools.read_file]\nlabels = [\"private\"]\n").unwrap();
        let config = raw.validate().unwrap();
        assert!(!config.tools["read_file"].labels.contains("read_only"));
    }
}
