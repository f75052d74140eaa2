//! airlock's content detectors and redaction.
//!
//! Every detector is pure and synchronous: text plus a [`ScanContext`] in, [`Finding`]s out.
//! No I/O, no clocks, no global state, so the same input always gives the same findings and a
//! detector can run inside any surface (MCP gateway, LLM proxy, CLI) without coordination.
//!
//! - [`Detector`] is the one trait every detector implements; each lives in its own file under
//!   `detectors/` and is listed once in [`registry::DETECTORS`].
//! - [`Scanner`] runs the configured detectors over a text, applies allowlists and thresholds,
//!   and lets decoders ([`Input::rescan`]) feed decoded content back through *all* detectors
//!   with bounded depth.
//! - [`redact()`] replaces sensitive findings with typed placeholders.
//!
//! This crate must not decide what to *do* about a finding: that is policy's job.
//!
//! [`Finding`]: airlock_core::Finding

mod codec;
mod config;
mod detector;
pub mod detectors;
pub mod invariants;
mod keywords;
pub mod labelled;
pub mod normalize;
mod redact;
pub mod registry;
mod scanner;
#[cfg(test)]
mod test_support;

pub use config::{ConfigError, ConfigProblem, RawDetectConfig, parse_options};
pub use detector::{Detector, Input, ScanContext};
pub use redact::{Redaction, Replacement, redact, redact_sensitive};
pub use scanner::Scanner;
