//! airlock's policy engine.
//!
//! This crate owns *deciding*: given who acts ([`airlock_core::Principal`]), what they do
//! ([`Action`]) to which tool or model, with which arguments, what the detectors found and
//! what the session has seen, it returns an [`airlock_core::Decision`]. It also owns the
//! session state that decision needs ([`SessionStore`]: taint labels, counters, data-flow
//! fingerprints), the built-in policy pack (`policies/` at the repository root, embedded with
//! `include_str!`), policy validation with `file:line:column` problems, the YAML policy test
//! runner ([`testing`]) and hot reload ([`PolicyStore`]).
//!
//! It must not do I/O on the request path, detect anything itself (findings come from
//! `airlock-detect` through the surface), speak any wire protocol, or let anything but the
//! configuration say what a tool is: a tool's self-description never sets its labels.
//! The one function that reads the filesystem, [`paths::canonical_path`] (symbolic links in
//! `Path` arguments), is for a surface that shares the upstream server's filesystem to call
//! before it authorizes; the engine never calls it.
//!
//! # Using it from a server
//!
//! ```no_run
//! use airlock_policy::{PolicyConfig, PolicySnapshot, PolicyStore, Request, SessionStore,
//!     FingerprintKey, now_unix};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = PolicyConfig::default();
//! let sessions = SessionStore::new(config.session.clone(), FingerprintKey::random()?);
//! let store = PolicyStore::new(PolicySnapshot::load(config).map_err(|p| format!("{p:?}"))?);
//! // per tools/call:
//! let principal = airlock_core::Principal::default();
//! let arguments = serde_json::json!({"path": "/etc/hosts"});
//! let mut request = Request::call_tool(principal, "read_file", arguments.clone());
//! request.session = sessions.snapshot("session-1", request.now);
//! request.data_flows = sessions.check_outbound("session-1", &arguments, request.now);
//! let decision = store.authorize(&request);
//! if decision.outcome.proceeds() {
//!     sessions.record_call("session-1", "read_file", now_unix());
//!     // …call the tool, scan the result, then `sessions.observe(…)` it.
//! }
//! # Ok(()) }
//! ```
//!
//! # How a decision is made
//!
//! Cedar evaluates the policy set with a request whose principal is an `Agent` (or a `User`
//! when no agent is known) in its `Role`s, whose resource is a `Tool` (in its `Server`) or a
//! model `Server`, and whose context carries the typed arguments, findings summary, session,
//! authentication strength, time and scopes (`policies/airlock.cedarschema` documents every
//! field). Annotations then shape the outcome:
//!
//! - `@id("…")` names the policy in decisions and audit (default `file#index`);
//! - `@reason("…")` is the human reason a decision carries;
//! - `@outcome("…")`: on a `forbid`, `deny` (default), `step_up`, `require_approval` or
//!   `redact`; on a `permit`, `allow` (default), `redact`, `require_approval` or `step_up`;
//! - `@acr_values("a b")` and `@max_age("900")` give a `step_up` its challenge.
//!
//! Combination rules, in order:
//!
//! 1. Any evaluation error (or invalid input: a wrongly typed argument, a missing tool) is a
//!    **deny** naming the error — a policy that could not be evaluated might have been the
//!    forbid that mattered.
//! 2. A satisfied **plain forbid** (outcome `deny`) denies, whatever else matched. The
//!    decision carries the reasons and ids of every satisfied plain forbid.
//! 3. Otherwise, if **no permit** is satisfied, the action is denied (default deny) with a
//!    reason that says how to allow it. A forbid with a softer outcome never grants anything.
//! 4. Otherwise the **strongest outcome** among the satisfied permits and soft forbids wins:
//!    deny > step_up > require_approval > redact > allow. The decision carries the reasons and
//!    ids of the policies with that outcome; a step-up merges their `acr_values` and takes the
//!    smallest `max_age`.
//!
//! Cedar itself lets any forbid win, so the loader rewrites each soft forbid as a permit with
//! the same condition and remembers it was a forbid; rule 3 is what keeps it from granting.
//!
//! # Cost
//!
//! Cedar evaluates every policy it is given (about 1 µs each here), so the engine hands it
//! only the policies whose head (`principal ==/in`, `action ==/in`, `resource ==/in`) can match
//! the request. The entities and those subsets depend only on the principal and the resource,
//! so each snapshot builds them once per such shape ([`snapshot::SHAPE_CACHE_LIMIT`]). Requests
//! and entities are built in the schema's shape and not re-validated per request; a value of the
//! wrong type makes the policy that reads it fail, which is a deny (rule 1). Numbers are in
//! `benches/authorize.rs` and the crate's commit history.

pub mod args;
pub mod config;
pub mod dataflow;
pub mod engine;
pub mod paths;
pub mod session;
pub mod snapshot;
pub mod store;
pub mod testing;

pub use args::{ArgType, CedarType};
pub use config::{
    ConfigProblem, PolicyConfig, RawAgentConfig, RawPolicyConfig, RawSessionConfig, RawToolConfig,
    SessionConfig, ToolConfig, TrifectaMode,
};
pub use dataflow::{DataFlow, FingerprintKey, KeyError, ValueKind};
pub use engine::{Action, PolicyEngine, Request, Scope, ToolRef, now_unix};
pub use paths::{
    PathArgumentError, PathError, canonical_path, canonicalize_path_arguments,
    check_canonical_path, rewrite_path_arguments,
};
pub use session::{
    INJECTION_SUSPECTED, Observation, PRIVATE_DATA, SessionSnapshot, SessionStore,
    UNTRUSTED_CONTENT,
};
pub use snapshot::{PolicyMeta, PolicyProblem, PolicySnapshot};
pub use store::PolicyStore;
