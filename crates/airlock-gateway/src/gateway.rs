//! The decision point: every surface hands it content to inspect and tool calls to authorize,
//! and gets back findings and a [`Decision`] that is already in the audit log.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock_audit::{AuditContext, AuditEntry, AuditError, AuditLog, FindingSummary};
use airlock_core::{Decision, Event, EventKind, Finding, Outcome, Principal};
use airlock_detect::{ScanContext, Scanner, redact_sensitive};
use airlock_identity::{AuthError, Authenticator, Credentials};
use airlock_policy::{
    Action, DataFlow, FingerprintKey, Observation, PolicySnapshot, PolicyStore, Request,
    SessionStore, ToolRef, now_unix,
};
use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Config, ConfigError, McpSettings, RawConfig, ServerSettings};

/// Why the gateway could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The audit log could not be opened or written. Decisions are never returned unaudited:
    /// a surface that gets this error must refuse the action.
    #[error("audit log unavailable: {0}")]
    Audit(#[from] AuditError),
    /// The identity provider's keys could not be loaded.
    #[error("identity keys unavailable: {0}")]
    Identity(String),
    /// The session fingerprint key could not be created.
    #[error("cannot create the session fingerprint key: {0}")]
    SessionKey(String),
    /// The request is not something the gateway can judge.
    #[error("{0}")]
    InvalidRequest(String),
}

/// Content to inspect: a prompt, a tool result, a retrieved document or a completion.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectRequest {
    /// The agent session, so that taint and data flow are tracked across events.
    #[serde(default)]
    pub session: Option<String>,
    /// The content and what it is.
    pub event: Event,
    /// The tool that produced a tool result (defaults to `event.source`).
    #[serde(default)]
    pub tool: Option<String>,
    /// The tool call id of a tool result, named by later data-flow findings.
    #[serde(default)]
    pub call_id: Option<String>,
    /// The upstream (MCP server) the tool belongs to, when the caller knows.
    #[serde(default)]
    pub server: Option<String>,
    /// How long the upstream took to produce this content, in microseconds; recorded in the
    /// audit log. Set by surfaces that relay the upstream themselves.
    #[serde(skip)]
    pub upstream_latency_us: Option<u64>,
}

/// What the gateway found in content and decided about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InspectOutcome {
    /// The decision, already in the audit log.
    pub decision: Decision,
    /// Everything the detectors found (excerpts are redaction-safe).
    pub findings: Vec<Finding>,
    /// The content with secrets and personal data replaced, when the decision is `redact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_content: Option<String>,
    /// Taint labels this content added to the session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taint_added: Vec<String>,
    /// Where the decision sits in the audit log.
    pub audit: AuditRef,
}

/// A tool call to authorize.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// The agent session.
    #[serde(default)]
    pub session: Option<String>,
    /// The tool's name.
    pub tool: String,
    /// The MCP server the tool belongs to, when the caller knows.
    #[serde(default)]
    pub server: Option<String>,
    /// The call's arguments.
    #[serde(default)]
    pub arguments: Value,
    /// Set by a surface that already found the call invalid (e.g. a `Path` argument it could
    /// not resolve): the call is denied for this reason, without asking the policy, and the
    /// denial is audited like any other.
    #[serde(skip)]
    pub invalid_because: Option<String>,
}

/// The decision on a tool call, with what led to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizeOutcome {
    /// The decision, already in the audit log.
    pub decision: Decision,
    /// What the detectors found in the arguments.
    pub findings: Vec<Finding>,
    /// Sensitive values from earlier tool results that the arguments carry.
    pub data_flows: Vec<DataFlow>,
    /// Where the decision sits in the audit log.
    pub audit: AuditRef,
}

/// One upstream's `tools/list` answer, for [`Gateway::review_tool_list`].
#[derive(Debug, Clone)]
pub struct ToolListRequest {
    /// The agent session.
    pub session: Option<String>,
    /// The upstream that listed the tools, by its configured name.
    pub upstream: String,
    /// The tools in the order listed.
    pub tools: Vec<ListedTool>,
    /// How long the upstream took to answer, in microseconds.
    pub upstream_latency_us: Option<u64>,
}

/// One tool of a listing.
#[derive(Debug, Clone)]
pub struct ListedTool {
    /// The tool's name as policies know it.
    pub name: String,
    /// What the detectors found in its definition (name, description, schema).
    pub findings: Vec<Finding>,
    /// Why the surface withholds the tool whatever the policy says, if it does.
    pub withheld: Option<String>,
}

/// Whether one listed tool is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolVerdict {
    /// The caller sees the tool.
    Shown,
    /// The tool is left out of the listing, for this reason.
    Hidden(String),
}

/// The verdicts on a listing, in the order listed, and its audit record.
#[derive(Debug, Clone)]
pub struct ToolListReview {
    /// One verdict per listed tool.
    pub verdicts: Vec<ToolVerdict>,
    /// Where the listing's record sits in the audit log.
    pub audit: AuditRef,
}

/// A record's place in the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRef {
    /// Sequence number.
    pub sequence: u64,
    /// Record hash.
    pub hash: String,
}

/// Where the configuration comes from, so that a reload reads the same place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// The embedded defaults: built-in policy pack, SQLite audit log under `./airlock-data`.
    Embedded,
    /// A TOML file.
    File(PathBuf),
}

impl ConfigSource {
    /// The source a `--config` flag names: the file, or the embedded defaults without one.
    pub fn from_flag(config: Option<&Path>) -> ConfigSource {
        match config {
            Some(path) => ConfigSource::File(path.to_owned()),
            None => ConfigSource::Embedded,
        }
    }

    /// Reads and validates the configuration.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let raw = match self {
            ConfigSource::Embedded => RawConfig::default(),
            ConfigSource::File(path) => RawConfig::read(path)?,
        };
        raw.validate().map_err(|mut err| {
            if let ConfigSource::File(path) = self {
                err.file = Some(path.clone());
            }
            err
        })
    }
}

/// What a reload swaps as one unit.
struct Live {
    config: Config,
    scanner: Scanner,
    authenticator: Authenticator,
}

/// The decision point shared by every surface of one process.
pub struct Gateway {
    source: ConfigSource,
    live: ArcSwap<Live>,
    policy: PolicyStore,
    sessions: SessionStore,
    audit: AuditLog,
    /// The last JWKS document fetched from `jwks_url` (url, document), put back into service
    /// when a reload builds a new authenticator.
    fetched_jwks: std::sync::Mutex<Option<(String, String)>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Loads the configuration, opens the audit log and builds everything.
    pub fn start(source: ConfigSource) -> Result<Gateway, GatewayError> {
        let config = source.load()?;
        let live = Live::build(config)?;
        let snapshot = load_policies(&source, &live.config)?;
        let key =
            FingerprintKey::random().map_err(|err| GatewayError::SessionKey(err.to_string()))?;
        let sessions = SessionStore::new(live.config.policy.session.clone(), key);
        let audit = AuditLog::open(&live.config.audit)?;
        Ok(Gateway {
            source,
            live: ArcSwap::from_pointee(live),
            policy: PolicyStore::new(snapshot),
            sessions,
            audit,
            fetched_jwks: std::sync::Mutex::new(None),
        })
    }

    /// Rereads the configuration and policies. On any problem nothing changes and every
    /// problem is returned; the previous configuration keeps serving. The audit log and the
    /// session limits are fixed for the life of the process (a change is reported).
    pub fn reload(&self) -> Result<Vec<String>, ConfigError> {
        let config = self.source.load()?;
        let mut notes = Vec::new();
        let current = self.live.load();
        if config.audit != current.config.audit {
            notes.push("audit settings changed: restart to apply them".to_owned());
        }
        if config.policy.session != current.config.policy.session {
            notes.push("policy.session limits changed: restart to apply them".to_owned());
        }
        if config.server != current.config.server {
            notes.push("server settings changed: restart to apply them".to_owned());
        }
        if config.mcp != current.config.mcp {
            notes.push("mcp settings changed: restart to apply them".to_owned());
        }
        let fail = |problems: Vec<String>| ConfigError {
            file: match &self.source {
                ConfigSource::File(path) => Some(path.clone()),
                ConfigSource::Embedded => None,
            },
            problems,
        };
        let live = Live::build(config).map_err(|err| fail(vec![err.to_string()]))?;
        // The policy store swaps only when the new policies validate; the detectors and
        // identity settings are swapped after it, so a failure leaves everything as it was.
        self.policy
            .reload_with(
                live.config.policy.clone(),
                live.config.policy.dir.as_deref(),
            )
            .map_err(|problems| fail(problems.iter().map(|p| p.to_string()).collect()))?;
        // Keys fetched from the same jwks_url stay in service across the reload.
        let fetched = self
            .fetched_jwks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let (Some((url, document)), Some((configured, _))) =
            (fetched, live.authenticator.jwks_url())
            && url == configured
        {
            let _ = live.authenticator.install_jwks(&document, &url);
        }
        self.live.store(Arc::new(live));
        Ok(notes)
    }

    /// The files whose change should trigger a reload: the config file and every `*.cedar`
    /// file of the extra policy folder.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        if let ConfigSource::File(path) = &self.source {
            files.push(path.clone());
        }
        if let Some(dir) = &self.live.load().config.policy.dir {
            files.push(dir.clone());
            if let Ok(entries) = std::fs::read_dir(dir) {
                let mut cedar: Vec<PathBuf> = entries
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .filter(|path| path.extension().is_some_and(|ext| ext == "cedar"))
                    .collect();
                cedar.sort();
                files.extend(cedar);
            }
        }
        files
    }

    /// The `[mcp]` settings in force.
    pub fn mcp_settings(&self) -> McpSettings {
        self.live.load().config.mcp.clone()
    }

    /// The `[server]` settings in force.
    pub fn server_settings(&self) -> ServerSettings {
        self.live.load().config.server.clone()
    }

    /// Whether any way to authenticate is configured (API keys or JWT). Without one, surfaces
    /// take the principal from the caller, which is only safe on loopback.
    pub fn identity_configured(&self) -> bool {
        let live = self.live.load();
        let identity = live.authenticator.config();
        !identity.api_keys.is_empty() || identity.jwt.is_some()
    }

    /// The issuer of the JWTs airlock accepts, when `[identity.jwt]` is configured: the
    /// authorization server named in the protected-resource metadata (RFC 9728).
    pub fn jwt_issuer(&self) -> Option<String> {
        let live = self.live.load();
        live.authenticator
            .config()
            .jwt
            .as_ref()
            .map(|jwt| jwt.issuer.clone())
    }

    /// The lower-case name of the header that carries an API key (`x-api-key` by default).
    pub fn api_key_header(&self) -> String {
        self.live
            .load()
            .authenticator
            .config()
            .api_key_header
            .clone()
    }

    /// The JWKS URL to fetch and how often, when `[identity.jwt] jwks_url` is configured.
    pub fn jwks_url(&self) -> Option<(String, u64)> {
        let live = self.live.load();
        live.authenticator
            .jwks_url()
            .map(|(url, every)| (url.to_owned(), every))
    }

    /// Puts a JWKS document fetched from `url` into service (checked like a `jwks_file`; on
    /// failure the keys in service stay). Returns a summary of the keys loaded.
    pub fn install_jwks(&self, url: &str, document: &str) -> Result<String, String> {
        let live = self.live.load();
        let report = live
            .authenticator
            .install_jwks(document, url)
            .map_err(|err| err.to_string())?;
        *self
            .fetched_jwks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((url.to_owned(), document.to_owned()));
        Ok(format!(
            "{} key(s) in service ({}); {} skipped",
            report.loaded.len(),
            report.loaded.join(", "),
            report.skipped.len()
        ))
    }

    /// The principal the credentials stand for.
    pub fn authenticate(&self, credentials: &Credentials) -> Result<Principal, AuthError> {
        self.live.load().authenticator.authenticate(credentials)
    }

    /// The policy snapshot in force (policies, schema, configuration).
    pub fn policy_snapshot(&self) -> Arc<PolicySnapshot> {
        self.policy.snapshot()
    }

    /// The audit log, for readers (verify, tail).
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    /// Scans content, decides what happens to it, updates the session, and audits the
    /// decision. Returns only once the audit record is durable.
    pub async fn inspect(
        &self,
        principal: &Principal,
        request: &InspectRequest,
    ) -> Result<InspectOutcome, GatewayError> {
        let event = &request.event;
        let (action, is_tool) = match event.kind {
            EventKind::Prompt => (Action::SendPrompt, false),
            EventKind::Completion => (Action::ReceiveCompletion, false),
            EventKind::ToolResult | EventKind::RetrievedDocument => {
                (Action::ReceiveToolResult, true)
            }
            EventKind::ToolCall => {
                return Err(GatewayError::InvalidRequest(
                    "a tool call is authorized, not inspected: send it to /v1/authorize".into(),
                ));
            }
            EventKind::ToolDefinition => {
                return Err(GatewayError::InvalidRequest(
                    "tool definitions are reviewed when a tool list is relayed \
                     (Gateway::review_tool_list), not inspected one by one"
                        .into(),
                ));
            }
            EventKind::File => {
                return Err(GatewayError::InvalidRequest(
                    "kind `file` is for `airlock scan`; on the live path use prompt, tool_result, \
                     retrieved_document or completion"
                        .into(),
                ));
            }
        };
        let live = self.live.load();
        let now = now_unix();
        let findings = live
            .scanner
            .scan(&event.content, ScanContext::for_event(event));
        let tool_name = request.tool.clone().or_else(|| event.source.clone());
        let tool = if is_tool {
            let mut tool = ToolRef::named(
                tool_name
                    .clone()
                    .unwrap_or_else(|| default_source(event.kind).to_owned()),
            );
            tool.server = request.server.clone();
            Some(tool)
        } else {
            None
        };
        let server = (!is_tool).then(|| event.source.clone()).flatten();
        let policy_request = Request {
            principal: principal.clone(),
            action,
            tool,
            server,
            arguments: Value::Null,
            session: self.session_snapshot(request.session.as_deref(), now),
            findings: findings.clone(),
            data_flows: Vec::new(),
            resource_scope: None,
            now,
        };
        let decision = self.policy.authorize(&policy_request);

        let mut taint_added = Vec::new();
        if decision.outcome.proceeds()
            && let Some(session) = &request.session
        {
            let labels = tool_name
                .as_deref()
                .map(|name| self.tool_labels(name))
                .unwrap_or_default();
            let observation = Observation {
                event,
                tool: tool_name.as_deref(),
                call_id: request.call_id.as_deref(),
                labels: &labels,
                findings: &findings,
            };
            taint_added = self.sessions.observe(session, &observation, now);
        }
        let redacted_content = (decision.outcome == Outcome::Redact)
            .then(|| redact_sensitive(&event.content, &findings).text);

        let entry = AuditEntry {
            session: request.session.clone(),
            principal: principal.clone(),
            event_kind: event.kind,
            tool: tool_name,
            // Content is not stored, only fingerprinted: tool results are large and full of
            // other people's data. The findings say what was in it.
            arguments: Value::Null,
            raw_arguments: Value::String(event.content.clone()),
            findings: findings.iter().map(FindingSummary::from).collect(),
            decision: decision.clone(),
            context: AuditContext {
                upstream: request.server.clone(),
                upstream_latency_us: request.upstream_latency_us,
            },
        };
        let audit = self.append(&entry).await?;
        Ok(InspectOutcome {
            decision,
            findings,
            redacted_content,
            taint_added,
            audit,
        })
    }

    /// Scans a tool call's arguments, checks them for sensitive values this session has seen,
    /// decides, records the call in the session when it may proceed, and audits the decision.
    /// Returns only once the audit record is durable.
    pub async fn authorize(
        &self,
        principal: &Principal,
        request: &AuthorizeRequest,
    ) -> Result<AuthorizeOutcome, GatewayError> {
        if request.tool.trim().is_empty() {
            return Err(GatewayError::InvalidRequest(
                "`tool` must name a tool".into(),
            ));
        }
        let live = self.live.load();
        let now = now_unix();
        let scanned = serde_json::to_string(&request.arguments).unwrap_or_default();
        let findings = live
            .scanner
            .scan(&scanned, ScanContext::of_kind(EventKind::ToolCall));
        let data_flows = match &request.session {
            Some(session) => self
                .sessions
                .check_outbound(session, &request.arguments, now),
            None => Vec::new(),
        };
        let mut tool = ToolRef::named(request.tool.clone());
        tool.server = request.server.clone();
        let policy_request = Request {
            principal: principal.clone(),
            action: Action::CallTool,
            tool: Some(tool),
            server: None,
            arguments: request.arguments.clone(),
            session: self.session_snapshot(request.session.as_deref(), now),
            findings: findings.clone(),
            data_flows: data_flows.clone(),
            resource_scope: None,
            now,
        };
        let decision = match &request.invalid_because {
            Some(problem) => Decision::deny(problem.clone()),
            None => self.policy.authorize(&policy_request),
        };
        if decision.outcome.proceeds()
            && let Some(session) = &request.session
        {
            self.sessions.record_call(session, &request.tool, now);
        }

        let mut audited: Vec<Finding> = findings.clone();
        audited.extend(data_flows.iter().map(DataFlow::to_finding));
        let mut entry = AuditEntry::redacted(
            request.session.clone(),
            principal.clone(),
            EventKind::ToolCall,
            Some(request.tool.clone()),
            request.arguments.clone(),
            &scanned,
            &audited,
            decision.clone(),
        );
        entry.context.upstream = request.server.clone();
        let audit = self.append(&entry).await?;
        Ok(AuthorizeOutcome {
            decision,
            findings,
            data_flows,
            audit,
        })
    }

    /// Runs the detectors over `content` as content of `kind`, without deciding or auditing
    /// anything: for surfaces that review something before it becomes an event (tool
    /// definitions at `tools/list`).
    pub fn scan(&self, content: &str, kind: EventKind) -> Vec<Finding> {
        self.live
            .load()
            .scanner
            .scan(content, ScanContext::of_kind(kind))
    }

    /// `content` with every secret and piece of personal data the detectors find replaced by
    /// its placeholder: for surfaces that carry content in several parts (an MCP tool result's
    /// content blocks) and apply a `redact` decision to each part.
    pub fn redact(&self, content: &str, kind: EventKind) -> String {
        let findings = self.scan(content, kind);
        redact_sensitive(content, &findings).text
    }

    /// Decides which tools of one upstream's tool list `principal` is shown, and audits the
    /// listing as one record. A tool the surface withholds itself (a poisoned definition, a
    /// definition changed since it was pinned) is hidden whatever the policy says; every other
    /// tool is shown unless its `list_tools` decision is `deny`. Returns only once the audit
    /// record is durable.
    pub async fn review_tool_list(
        &self,
        principal: &Principal,
        request: &ToolListRequest,
    ) -> Result<ToolListReview, GatewayError> {
        let now = now_unix();
        let session = self.session_snapshot(request.session.as_deref(), now);
        let mut verdicts = Vec::with_capacity(request.tools.len());
        let mut hidden = serde_json::Map::new();
        let mut shown = Vec::new();
        let mut findings: Vec<Finding> = Vec::new();
        for listed in &request.tools {
            findings.extend(listed.findings.iter().cloned());
            let verdict = match &listed.withheld {
                Some(reason) => ToolVerdict::Hidden(reason.clone()),
                None => {
                    let mut tool = ToolRef::named(listed.name.clone());
                    tool.server = Some(request.upstream.clone());
                    let decision = self.policy.authorize(&Request {
                        principal: principal.clone(),
                        action: Action::ListTools,
                        tool: Some(tool),
                        server: None,
                        arguments: Value::Null,
                        session: session.clone(),
                        findings: listed.findings.clone(),
                        data_flows: Vec::new(),
                        resource_scope: None,
                        now,
                    });
                    if decision.outcome == Outcome::Deny {
                        ToolVerdict::Hidden(decision.reasons.join("; "))
                    } else {
                        ToolVerdict::Shown
                    }
                }
            };
            match &verdict {
                ToolVerdict::Shown => shown.push(Value::String(listed.name.clone())),
                ToolVerdict::Hidden(reason) => {
                    hidden.insert(listed.name.clone(), Value::String(reason.clone()));
                }
            }
            verdicts.push(verdict);
        }
        let decision = Decision {
            // A listing with tools left out is recorded as redacted: the caller got part of it.
            outcome: if hidden.is_empty() {
                Outcome::Allow
            } else {
                Outcome::Redact
            },
            reasons: hidden
                .iter()
                .map(|(name, reason)| {
                    format!(
                        "tool `{name}` hidden: {}",
                        reason.as_str().unwrap_or_default()
                    )
                })
                .collect(),
            policy_ids: Vec::new(),
            step_up: None,
        };
        let listing = serde_json::json!({ "shown": shown, "hidden": hidden });
        let entry = AuditEntry {
            session: request.session.clone(),
            principal: principal.clone(),
            event_kind: EventKind::ToolDefinition,
            tool: None,
            arguments: listing.clone(),
            raw_arguments: listing,
            findings: findings.iter().map(FindingSummary::from).collect(),
            decision,
            context: AuditContext {
                upstream: Some(request.upstream.clone()),
                upstream_latency_us: request.upstream_latency_us,
            },
        };
        let audit = self.append(&entry).await?;
        Ok(ToolListReview { verdicts, audit })
    }

    fn session_snapshot(&self, session: Option<&str>, now: i64) -> airlock_policy::SessionSnapshot {
        session
            .map(|id| self.sessions.snapshot(id, now))
            .unwrap_or_default()
    }

    fn tool_labels(&self, name: &str) -> BTreeSet<String> {
        self.policy
            .snapshot()
            .config()
            .tools
            .get(name)
            .map(|tool| tool.labels.clone())
            .unwrap_or_default()
    }

    async fn append(&self, entry: &AuditEntry) -> Result<AuditRef, GatewayError> {
        let appended = self.audit.append_async(entry).await?;
        Ok(AuditRef {
            sequence: appended.sequence,
            hash: appended.hash,
        })
    }
}

impl Live {
    fn build(config: Config) -> Result<Live, GatewayError> {
        let scanner = Scanner::from_config(&config.detect).map_err(|err| {
            GatewayError::Config(ConfigError {
                file: None,
                problems: err.problems.iter().map(|p| p.to_string()).collect(),
            })
        })?;
        let authenticator = Authenticator::new(config.identity.clone())
            .map_err(|err| GatewayError::Identity(err.to_string()))?;
        Ok(Live {
            config,
            scanner,
            authenticator,
        })
    }
}

fn load_policies(source: &ConfigSource, config: &Config) -> Result<PolicySnapshot, GatewayError> {
    let dir: Option<&Path> = config.policy.dir.as_deref();
    PolicySnapshot::load_with_dir(config.policy.clone(), dir).map_err(|problems| {
        GatewayError::Config(ConfigError {
            file: match source {
                ConfigSource::File(path) => Some(path.clone()),
                ConfigSource::Embedded => None,
            },
            problems: problems.iter().map(|p| p.to_string()).collect(),
        })
    })
}

/// The resource name for content whose source the caller did not name.
fn default_source(kind: EventKind) -> &'static str {
    match kind {
        EventKind::RetrievedDocument => "retrieval",
        _ => "unknown_tool",
    }
}
