//! airlock's MCP gateway.
//!
//! airlock sits between an MCP client (an agent, a desktop app, an IDE) and MCP servers and
//! puts every message through the decision point ([`airlock_gateway::Gateway`]): tool
//! listings are filtered per principal and reviewed for poisoned or changed definitions, tool
//! calls are authorized down to their arguments, and tool results are inspected as untrusted
//! input before the model sees them. See [`guard`] for what happens to each message.
//!
//! ## Why a JSON-RPC layer of our own rather than `rmcp`
//!
//! A gateway must relay what it does not inspect exactly as it came: new protocol revisions,
//! experimental methods, `_meta` fields, server→client requests (sampling, elicitation,
//! roots) and notifications. An SDK's typed client and server would parse every message into
//! the types of the revision it was built for and re-serialise it, dropping what it does not
//! know, and would make airlock answer `initialize` itself with one protocol version. Here
//! messages stay JSON values; the guard reads the few methods it decides on (`tools/list`,
//! `tools/call`, `resources/read`, `prompts/get`) and relays the rest untouched, so version
//! negotiation stays between the client and the server and every version they agree on works.

pub mod aggregate;
pub mod client;
pub mod guard;
pub mod jsonrpc;
pub mod pins;
pub mod poison;
mod remote;
pub mod stdio;

pub use aggregate::{Aggregator, Reply, SUPPORTED_VERSIONS};
pub use client::{ClientError, StdioClient};
pub use guard::{GuardSettings, McpGuard, Route};
pub use pins::{Pin, PinCheck, PinError, PinStore, definition_digest};
pub use stdio::{StdioError, UpstreamCommand, wrap};
