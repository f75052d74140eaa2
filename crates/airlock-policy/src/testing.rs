//! Policy tests as data: a YAML file of cases, each a request and the outcome it must get.
//! `airlock policy test FILE` runs them; `policies/tests/builtin.yaml` covers the built-in
//! pack and runs in this crate's test suite.
//!
//! ```yaml
//! config:                 # optional: the [policy] table, with `tools` inside it
//!   trifecta: require_approval
//!   tools:
//!     crm_get_customer: { labels: [private, customer_data], tenant_argument: tenant }
//! now: 1800000000         # optional default request time (Unix seconds)
//! cases:
//!   - name: support agent with fresh MFA reads an in-scope account
//!     principal: { agent: support-bot, roles: [support_agent], tenant: acme,
//!                  auth: { amr: [pwd, otp], auth_time: 1799999900 } }
//!     action: call_tool   # default; also list_tools, send_prompt, receive_completion,
//!                         # receive_tool_result
//!     tool: crm_get_customer         # or { name, server, labels }
//!     arguments: { customer_id: "c-1", tenant: acme }
//!     session: { taint: [untrusted_content] }
//!     findings: [ { detector: shell, rule: rm_rf_root, category: dangerous_command } ]
//!     data_flows: [ { source_tool: crm, source_call_id: c1, kind: pii, argument: /body } ]
//!     expect: allow
//!     expect_policy: support.read_customer_data   # optional: among the decision's ids
//! ```

use std::path::Path;

use airlock_core::{Category, Decision, Finding, Outcome, Principal, Severity, Span};
use serde::Deserialize;
use serde_json::Value;

use crate::config::RawPolicyConfig;
use crate::dataflow::DataFlow;
use crate::engine::{Action, PolicyEngine, Request, Scope, ToolRef};
use crate::session::SessionSnapshot;
use crate::snapshot::{PolicyProblem, PolicySnapshot};

/// Default request time of cases that give none: 2027-01-15T08:00:00Z.
pub const DEFAULT_NOW: i64 = 1_800_000_000;

/// A case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// The `[policy]` configuration the cases run under.
    #[serde(default)]
    pub config: RawPolicyConfig,
    /// Default request time.
    #[serde(default)]
    pub now: Option<i64>,
    /// The cases.
    pub cases: Vec<Case>,
}

/// The tool of a case: a name, or the full reference.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CaseTool {
    /// Just the name.
    Name(String),
    /// Name, server and extra labels.
    Full(ToolRef),
}

/// A finding as a case writes it: only what policy reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFinding {
    /// Detector name.
    pub detector: String,
    /// Rule name.
    pub rule: String,
    /// Category.
    pub category: Category,
    /// Score; default 1.0.
    #[serde(default)]
    pub score: Option<f32>,
}

/// One case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What it checks, named for the behaviour.
    pub name: String,
    /// Who acts.
    #[serde(default)]
    pub principal: Principal,
    /// The action; default `call_tool`.
    #[serde(default)]
    pub action: Option<Action>,
    /// The tool.
    #[serde(default)]
    pub tool: Option<CaseTool>,
    /// The model server, for prompt/completion actions.
    #[serde(default)]
    pub server: Option<String>,
    /// Tool arguments.
    #[serde(default)]
    pub arguments: Value,
    /// Session state before the action.
    #[serde(default)]
    pub session: SessionSnapshot,
    /// Findings in the action's content.
    #[serde(default)]
    pub findings: Vec<CaseFinding>,
    /// Sensitive values found in the arguments.
    #[serde(default)]
    pub data_flows: Vec<DataFlow>,
    /// Resource scope override.
    #[serde(default)]
    pub resource_scope: Option<Scope>,
    /// Request time.
    #[serde(default)]
    pub now: Option<i64>,
    /// The outcome the case expects.
    pub expect: Outcome,
    /// A policy id the decision must name.
    #[serde(default)]
    pub expect_policy: Option<String>,
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Whether the decision matched.
    pub passed: bool,
    /// What came out.
    pub decision: Decision,
    /// Why it failed, when it did.
    pub failure: Option<String>,
}

/// Why a case file could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum CaseFileError {
    /// The YAML did not parse into cases.
    #[error("invalid case file: {0}")]
    Parse(String),
    /// The `config` section is invalid.
    #[error("invalid config in case file: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Config(Vec<crate::ConfigProblem>),
    /// The policies did not load.
    #[error("policies do not validate:\n{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Policies(Vec<PolicyProblem>),
}

/// Parses and runs a case file. `policies_dir`, when given, replaces the config's `dir`.
pub fn run_case_file(
    yaml: &str,
    policies_dir: Option<&Path>,
) -> Result<Vec<CaseResult>, CaseFileError> {
    let file: CaseFile =
        serde_norway::from_str(yaml).map_err(|e| CaseFileError::Parse(e.to_string()))?;
    let config = file.config.validate().map_err(CaseFileError::Config)?;
    let dir = policies_dir
        .map(Path::to_path_buf)
        .or_else(|| config.dir.clone());
    let snapshot =
        PolicySnapshot::load_with_dir(config, dir.as_deref()).map_err(CaseFileError::Policies)?;
    let engine = PolicyEngine::new(snapshot);
    let default_now = file.now.unwrap_or(DEFAULT_NOW);
    Ok(file
        .cases
        .iter()
        .map(|case| run_case(&engine, case, default_now))
        .collect())
}

/// Runs one case.
pub fn run_case(engine: &PolicyEngine, case: &Case, default_now: i64) -> CaseResult {
    let request = Request {
        principal: case.principal.clone(),
        action: case.action.unwrap_or(Action::CallTool),
        tool: case.tool.clone().map(|t| match t {
            CaseTool::Name(name) => ToolRef::named(name),
            CaseTool::Full(tool) => tool,
        }),
        server: case.server.clone(),
        arguments: case.arguments.clone(),
        session: case.session.clone(),
        findings: case
            .findings
            .iter()
            .map(|f| Finding {
                detector: f.detector.clone(),
                rule: f.rule.clone(),
                category: f.category,
                severity: Severity::High,
                score: f.score.unwrap_or(1.0),
                span: Span::new(0, 0),
                excerpt: String::new(),
                message: String::new(),
                via: Vec::new(),
            })
            .collect(),
        data_flows: case.data_flows.clone(),
        resource_scope: case.resource_scope.clone(),
        now: case.now.unwrap_or(default_now),
    };
    let decision = engine.authorize(&request);
    let mut failure = None;
    if decision.outcome != case.expect {
        failure = Some(format!(
            "expected {}, got {}",
            case.expect.as_str(),
            decision.outcome.as_str()
        ));
    } else if let Some(id) = &case.expect_policy
        && !decision.policy_ids.contains(id)
    {
        failure = Some(format!(
            "expected policy `{id}` among {:?}",
            decision.policy_ids
        ));
    }
    CaseResult {
        name: case.name.clone(),
        passed: failure.is_none(),
        decision,
        failure,
    }
}
