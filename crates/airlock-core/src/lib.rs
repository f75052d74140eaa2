//! Types shared by every airlock crate.
//!
//! This crate owns the vocabulary of the gateway: what arrives ([`Event`]), what a detector
//! reports about it ([`Finding`]), how bad that is ([`Severity`]), how a redacted value is
//! written ([`Placeholder`]), who is acting ([`Principal`]) and what the gateway decided
//! ([`Decision`]), plus [`hash64`], the small non-cryptographic hash that hashed features and
//! prefilters share. It does no I/O, spawns nothing and depends on nothing but serde:
//! every other crate depends on it, so it must stay small and stable. The JSON names of these
//! types are part of airlock's public interface (CLI output, HTTP API, audit log) and must not
//! change without a migration.

mod decision;
mod event;
mod finding;
pub mod hash64;
mod principal;
mod redaction;
mod severity;

pub use decision::{Decision, Outcome, StepUpChallenge};
pub use event::{Event, EventKind, Trust};
pub use finding::{Category, Finding, Span};
pub use principal::{AuthStrength, Principal};
pub use redaction::{Placeholder, mask_secret};
pub use severity::{ParseSeverityError, Severity};
