//! airlock's decision point, shared by every surface.
//!
//! The HTTP decision API, the MCP gateway and the LLM proxy all translate their wire protocol
//! into the same two calls — [`Gateway::inspect`] for content (prompts, tool results,
//! retrieved documents, completions) and [`Gateway::authorize`] for tool calls — so that a
//! tool call is judged the same way wherever it comes from. One call runs the detectors
//! (`airlock-detect`), reads and updates the session (taint, data-flow fingerprints), asks the
//! policy engine (`airlock-policy`), and appends the decision to the audit log
//! (`airlock-audit`) before returning it: a decision that could not be audited is an error,
//! never an answer.
//!
//! This crate also owns `airlock.toml` as a whole ([`RawConfig`]): each section is parsed and
//! validated by the crate it belongs to, and [`Gateway::reload`] swaps detectors, identity
//! settings and policies together or not at all.
//!
//! It must not speak any wire protocol (no HTTP status codes, no JSON-RPC) and must not make
//! decisions of its own: the policy engine decides, this crate wires.

mod config;
mod gateway;

pub use config::{
    Config, ConfigError, DEFAULT_LISTEN, DEFAULT_PINS_FILE, McpSettings, McpUpstream, PinningMode,
    RawConfig, RawMcpConfig, RawMcpUpstream, RawServerConfig, ServerSettings, url_host_is_loopback,
};
pub use gateway::{
    AuditRef, AuthorizeOutcome, AuthorizeRequest, ConfigSource, Gateway, GatewayError,
    InspectOutcome, InspectRequest, ListedTool, ToolListRequest, ToolListReview, ToolVerdict,
};
