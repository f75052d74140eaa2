//! `airlock.toml`: one file for every part of the gateway. Each section is parsed by the crate
//! that owns it (`[detect]` by airlock-detect, `[policy]` and `[tools]` by airlock-policy,
//! `[audit]` by airlock-audit, `[identity]` by airlock-identity); this module reads the file,
//! rejects unknown sections, and validates all sections together so that one run reports every
//! problem.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use airlock_audit::{AuditConfig, RawAuditConfig};
use airlock_detect::{RawDetectConfig, Scanner};
use airlock_identity::{IdentityConfig, RawIdentityConfig};
use airlock_policy::{PolicyConfig, RawPolicyConfig, RawToolConfig};
use serde::Deserialize;

/// Where the gateway listens when `[server] listen` is not set: loopback only, so a first run
/// exposes nothing to the network.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The whole configuration file, as written. Every section is optional: an empty file (or no
/// file) is the embedded default configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Detector settings (allowlists, thresholds, per-detector options).
    #[serde(default)]
    pub detect: RawDetectConfig,
    /// Policy pack, extra policy folder, session limits, agents' roles.
    #[serde(default)]
    pub policy: RawPolicyConfig,
    /// Tool labels and argument types: `[tools.NAME]`.
    #[serde(default)]
    pub tools: BTreeMap<String, RawToolConfig>,
    /// The audit log.
    #[serde(default)]
    pub audit: RawAuditConfig,
    /// Who may call: API keys, JWT validation.
    #[serde(default)]
    pub identity: RawIdentityConfig,
    /// HTTP listener settings for `airlock serve`.
    #[serde(default)]
    pub server: RawServerConfig,
    /// The MCP gateway: which agent a stdio client is, tool pinning.
    #[serde(default)]
    pub mcp: RawMcpConfig,
}

/// `[mcp]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMcpConfig {
    /// The agent a stdio client (`airlock mcp wrap`) acts as; its roles come from
    /// `[policy.agents.NAME]`. Default `mcp-client`.
    #[serde(default)]
    pub agent: Option<String>,
    /// Where pinned tool definitions are kept. Default `airlock-data/mcp-pins.json`.
    #[serde(default)]
    pub pins_file: Option<PathBuf>,
    /// `tofu` (default): an upstream seen for the first time has its tools pinned as listed;
    /// afterwards a changed or new tool is blocked until `airlock mcp pin` approves it.
    /// `strict`: nothing is pinned automatically. `off`: definitions are not pinned.
    #[serde(default)]
    pub pinning: Option<PinningMode>,
    /// Largest JSON-RPC message relayed, in bytes. Default 16 MiB.
    #[serde(default)]
    pub max_message_bytes: Option<usize>,
    /// The servers `airlock serve` aggregates at `/mcp`: `[mcp.upstreams.NAME]`. Their tools
    /// are offered as `NAME.tool`.
    #[serde(default)]
    pub upstreams: BTreeMap<String, RawMcpUpstream>,
}

/// `[mcp.upstreams.NAME]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMcpUpstream {
    /// The server command and its arguments, started over stdio for each client session.
    /// Give this or `url`.
    #[serde(default)]
    pub command: Vec<String>,
    /// A remote server's Streamable HTTP endpoint (`https://…`, or `http://` on loopback).
    /// Give this or `command`.
    #[serde(default)]
    pub url: Option<String>,
    /// Headers sent to a remote server, e.g. `{ Authorization = "env:GITHUB_AUTHORIZATION" }`;
    /// `"env:NAME"` takes the whole value from airlock's variable `NAME`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The server's environment (it inherits nothing else but `PATH`, `HOME` and `LANG`).
    /// `"env:NAME"` copies airlock's own variable `NAME`, so that upstream credentials stay in
    /// airlock's environment and never pass through the agent.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The server's working directory. Default: airlock's.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
}

/// A validated upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpUpstream {
    /// Its name: letters, digits, `_` and `-`.
    pub name: String,
    /// The program and its arguments (empty for a remote server).
    pub command: Vec<String>,
    /// A remote server's endpoint.
    pub url: Option<String>,
    /// Headers for a remote server, values as written (`env:NAME` resolved when used).
    pub headers: BTreeMap<String, String>,
    /// Environment entries, values as written (`env:NAME` resolved when the server starts).
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
}

/// How tool definitions are pinned (`[mcp] pinning`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinningMode {
    /// Trust on first use: an upstream with no pins has its clean tools pinned as listed.
    #[default]
    Tofu,
    /// Only `airlock mcp pin` pins; every unpinned tool is blocked.
    Strict,
    /// Definitions are not pinned (poisoned definitions are still blocked).
    Off,
}

/// Validated `[mcp]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpSettings {
    /// The agent a stdio client acts as.
    pub agent: String,
    /// The pin file.
    pub pins_file: PathBuf,
    /// How definitions are pinned.
    pub pinning: PinningMode,
    /// Largest message relayed.
    pub max_message_bytes: usize,
    /// The upstreams aggregated at `/mcp`, by name.
    pub upstreams: Vec<McpUpstream>,
}

/// The pin file when `[mcp] pins_file` is not set.
pub const DEFAULT_PINS_FILE: &str = "airlock-data/mcp-pins.json";

/// `[server]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServerConfig {
    /// Address to listen on. Default `127.0.0.1:8080`.
    #[serde(default)]
    pub listen: Option<String>,
    /// Largest request body accepted, in bytes. Default 1 MiB.
    #[serde(default)]
    pub max_body_bytes: Option<usize>,
    /// Longest a request may take before it is answered 503. Default 10 s.
    #[serde(default)]
    pub request_timeout_ms: Option<u64>,
    /// How often the config file and policy folder are checked for changes. Default 1 s;
    /// 0 turns polling off (SIGHUP still reloads).
    #[serde(default)]
    pub reload_interval_ms: Option<u64>,
    /// Browser origins allowed to call `/mcp` besides loopback ones, e.g.
    /// `["https://console.example.com"]`. A request with any other `Origin` is refused
    /// (DNS-rebinding defence).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

/// Validated `[server]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Per-request time limit.
    pub request_timeout: Duration,
    /// Change-polling interval; `None` when polling is off.
    pub reload_interval: Option<Duration>,
    /// Extra browser origins allowed on `/mcp`.
    pub allowed_origins: Vec<String>,
}

/// Every validated section, ready to build a [`crate::Gateway`].
#[derive(Debug, Clone)]
pub struct Config {
    /// `[detect]`, checked by building a scanner from it.
    pub detect: RawDetectConfig,
    /// `[policy]` with `[tools]` merged in.
    pub policy: PolicyConfig,
    /// `[audit]`.
    pub audit: AuditConfig,
    /// `[identity]`.
    pub identity: IdentityConfig,
    /// `[server]`.
    pub server: ServerSettings,
    /// `[mcp]`.
    pub mcp: McpSettings,
}

/// Everything wrong with a configuration, each problem with its key path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file, when the configuration came from one.
    pub file: Option<PathBuf>,
    /// One line per problem: `section.key: what is wrong`.
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "invalid config `{}`:", file.display())?,
            None => write!(f, "invalid config:")?,
        }
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl RawConfig {
    /// Reads `path` as TOML. Syntax errors and unknown keys name the file and the line.
    pub fn read(path: &Path) -> Result<RawConfig, ConfigError> {
        let fail = |problem: String| ConfigError {
            file: Some(path.to_owned()),
            problems: vec![problem],
        };
        let text =
            std::fs::read_to_string(path).map_err(|err| fail(format!("cannot read: {err}")))?;
        toml::from_str(&text).map_err(|err| fail(err.to_string().trim_end().to_owned()))
    }

    /// Validates every section, collecting all problems.
    pub fn validate(&self) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();

        if let Err(err) = Scanner::from_config(&self.detect) {
            problems.extend(err.problems.iter().map(|p| p.to_string()));
        }

        let mut policy = self.policy.clone();
        for (name, tool) in &self.tools {
            if policy.tools.contains_key(name) {
                problems.push(format!(
                    "tools.{name}: also configured as policy.tools.{name}; keep one of them"
                ));
            }
            policy.tools.insert(name.clone(), tool.clone());
        }
        let policy = policy
            .validate()
            .map_err(|errs| {
                problems.extend(errs.iter().map(|p| format!("{}: {}", p.path, p.message)));
            })
            .ok();

        let audit = self
            .audit
            .validate()
            .map_err(|err| problems.push(format!("audit: {err}")))
            .ok();

        let identity = self
            .identity
            .validate()
            .map_err(|err| {
                problems.extend(
                    err.problems
                        .iter()
                        .map(|p| format!("identity.{}: {}", p.path, p.message)),
                );
            })
            .ok();

        let server = self.server.validate(&mut problems);
        let mcp = self.mcp.validate(&mut problems);

        match (policy, audit, identity, server, mcp) {
            (Some(policy), Some(audit), Some(identity), Some(server), Some(mcp))
                if problems.is_empty() =>
            {
                Ok(Config {
                    detect: self.detect.clone(),
                    policy,
                    audit,
                    identity,
                    server,
                    mcp,
                })
            }
            _ => Err(ConfigError {
                file: None,
                problems,
            }),
        }
    }
}

impl RawServerConfig {
    fn validate(&self, problems: &mut Vec<String>) -> Option<ServerSettings> {
        let before = problems.len();
        let listen_text = self.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen_text
            .parse::<SocketAddr>()
            .map_err(|_| {
                problems.push(format!(
                    "server.listen: `{listen_text}` is not an address:port such as `{DEFAULT_LISTEN}`"
                ));
            })
            .ok();
        let max_body_bytes = self.max_body_bytes.unwrap_or(1 << 20);
        if !(1024..=64 << 20).contains(&max_body_bytes) {
            problems.push(format!(
                "server.max_body_bytes: {max_body_bytes} is outside 1024..=67108864"
            ));
        }
        let timeout_ms = self.request_timeout_ms.unwrap_or(10_000);
        if !(10..=600_000).contains(&timeout_ms) {
            problems.push(format!(
                "server.request_timeout_ms: {timeout_ms} is outside 10..=600000"
            ));
        }
        let reload_ms = self.reload_interval_ms.unwrap_or(1_000);
        if reload_ms != 0 && reload_ms < 50 {
            problems.push(format!(
                "server.reload_interval_ms: {reload_ms} is too short (0 turns polling off, else at least 50)"
            ));
        }
        for origin in &self.allowed_origins {
            let well_formed = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/');
            if !well_formed {
                problems.push(format!(
                    "server.allowed_origins: `{origin}` is not an origin such as \
                     `https://console.example.com` (scheme and host, no path)"
                ));
            }
        }
        (problems.len() == before).then(|| ServerSettings {
            listen: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            max_body_bytes,
            request_timeout: Duration::from_millis(timeout_ms),
            reload_interval: (reload_ms != 0).then(|| Duration::from_millis(reload_ms)),
            allowed_origins: self.allowed_origins.clone(),
        })
    }
}

impl RawMcpConfig {
    fn validate(&self, problems: &mut Vec<String>) -> Option<McpSettings> {
        let before = problems.len();
        let agent = self
            .agent
            .clone()
            .unwrap_or_else(|| "mcp-client".to_owned());
        if agent.trim().is_empty() {
            problems.push("mcp.agent: must name an agent".to_owned());
        }
        let pins_file = self
            .pins_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PINS_FILE));
        if pins_file.as_os_str().is_empty() {
            problems.push("mcp.pins_file: must name a file".to_owned());
        }
        let max_message_bytes = self.max_message_bytes.unwrap_or(16 << 20);
        if !(4096..=256 << 20).contains(&max_message_bytes) {
            problems.push(format!(
                "mcp.max_message_bytes: {max_message_bytes} is outside 4096..=268435456"
            ));
        }
        let mut upstreams = Vec::new();
        for (name, upstream) in &self.upstreams {
            let valid_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_name {
                problems.push(format!(
                    "mcp.upstreams.{name}: a name may use letters, digits, `_` and `-` only \
                     (tools are offered as `NAME.tool`)"
                ));
            }
            match (&upstream.url, upstream.command.first()) {
                (None, None) => problems.push(format!(
                    "mcp.upstreams.{name}: give `command` (a list, e.g. [\"npx\", \"-y\", \
                     \"@modelcontextprotocol/server-everything\"]) or `url`"
                )),
                (Some(_), Some(_)) => problems.push(format!(
                    "mcp.upstreams.{name}: give `command` or `url`, not both"
                )),
                (None, Some(program)) if program.is_empty() => problems.push(format!(
                    "mcp.upstreams.{name}.command: the program name is empty"
                )),
                (Some(url), None) if !remote_url_allowed(url) => problems.push(format!(
                    "mcp.upstreams.{name}.url: `{url}` must be https://, or http:// to a \
                     loopback address (credentials are not sent in clear over a network)"
                )),
                _ => {}
            }
            if upstream.url.is_none() && !upstream.headers.is_empty() {
                problems.push(format!(
                    "mcp.upstreams.{name}.headers: only a remote server (`url`) takes headers; \
                     give a local server its credentials in `env`"
                ));
            }
            for (key, value) in &upstream.headers {
                if value.strip_prefix("env:").is_some_and(str::is_empty) {
                    problems.push(format!(
                        "mcp.upstreams.{name}.headers.{key}: `env:` must name a variable"
                    ));
                }
            }
            for (key, value) in &upstream.env {
                if value.strip_prefix("env:").is_some_and(str::is_empty) {
                    problems.push(format!(
                        "mcp.upstreams.{name}.env.{key}: `env:` must name a variable"
                    ));
                }
            }
            upstreams.push(McpUpstream {
                name: name.clone(),
                command: upstream.command.clone(),
                url: upstream.url.clone(),
                headers: upstream.headers.clone(),
                env: upstream.env.clone(),
                cwd: upstream.cwd.clone(),
            });
        }
        (problems.len() == before).then(|| McpSettings {
            agent,
            pins_file,
            pinning: self.pinning.unwrap_or_default(),
            max_message_bytes,
            upstreams,
        })
    }
}

/// `https://…`, or `http://` to `localhost` or a loopback address.
fn remote_url_allowed(url: &str) -> bool {
    url.starts_with("https://") || (url.starts_with("http://") && url_host_is_loopback(url))
}

/// Whether an `http://` or `https://` URL (or browser origin) names `localhost` or a loopback
/// address, whatever the port.
pub fn url_host_is_loopback(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_embedded_default() {
        let raw: RawConfig = toml::from_str("").unwrap();
        let config = raw.validate().unwrap();
        assert_eq!(config.server.listen.to_string(), DEFAULT_LISTEN);
        assert!(config.policy.tools.contains_key("read_file"));
    }

    #[test]
    fn unknown_sections_are_rejected() {
        let err = toml::from_str::<RawConfig>("[detetc]\nx = 1\n").unwrap_err();
        assert!(err.to_string().contains("detetc"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let raw: RawConfig = toml::from_str(
            r#"
            [server]
            listen = "everywhere"
            max_body_bytes = 5
            [detect.detectors.pii]
            min_score = 2.0
            [tools.send_email]
            labels = ["egress"]
            [policy.tools.send_email]
            labels = ["egress"]
            "#,
        )
        .unwrap();
        let err = raw.validate().unwrap_err();
        let text = err.to_string();
        for expected in [
            "server.listen",
            "server.max_body_bytes",
            "detect.detectors.pii.min_score",
            "tools.send_email",
        ] {
            assert!(text.contains(expected), "missing {expected} in {text}");
        }
    }
}
