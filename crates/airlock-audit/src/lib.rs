//! The tamper-evident audit log: every decision airlock makes, stored durably in a hash chain.
//!
//! This crate owns the record format, the chain, its storage and its verification and export.
//! It must not decide anything (callers hand it finished [`Decision`](airlock_core::Decision)s),
//! must not store a secret in clear (arguments arrive redacted; the raw form is kept only as a
//! keyed fingerprint; findings keep no excerpt), and must never acknowledge an append that a
//! crash could still lose.
//!
//! # Chain format
//!
//! Records are numbered 1, 2, 3, … without gaps. Each stores `prev_hash`, the previous
//! record's `hash` (64 zeros for record 1), and `hash` = SHA-256 (hex) over a domain label
//! (`airlock-audit-record-v1\0`) followed by every other field in this order: `sequence`
//! (decimal text), `time`, `session`, `principal`, `event_kind`, `tool`, `arguments`,
//! `arguments_fingerprint`, `findings`, `decision`, `prev_hash`, then `context` only when the
//! record has one. Each field is a presence byte (0 = absent, 1 = present), then for a present
//! field its length as a big-endian u64 and its UTF-8 bytes; `context` is the exception, left
//! out entirely when absent, so records without one hash exactly as they did before the field
//! existed (every field carries its own length, so the encoding stays unambiguous). JSON
//! fields are canonical JSON (object keys sorted, no whitespace) and the hash is over the
//! stored text, so verification never re-serialises anything. `time` is RFC 3339
//! UTC with milliseconds (`2026-12-07T00:50:07.123Z`), assigned by the writer when the batch
//! is written, and never decreases along the chain.
//!
//! `arguments_fingerprint` is HMAC-SHA256 under the audit key of the raw arguments' canonical
//! JSON. The same key signs the *head*: the last sequence number and hash, stored with every
//! batch in the same transaction.
//!
//! # What verification detects
//!
//! [`AuditReader::verify`] walks the chain and names the first bad sequence number: an edited
//! field (hash mismatch), a deleted record (gap), records reordered or a record inserted and
//! the rest renumbered (broken `prev_hash` link), records deleted from the end or appended by
//! hand (the chain ends before or after the signed head), a rewritten chain (head hash
//! mismatch) and a forged head (bad MAC). A plain hash chain cannot detect the deletion of its
//! last records on its own; the keyed head does, as long as whoever deletes them does not hold
//! the audit key. Someone who holds the key *and* write access can rewrite the whole log: for
//! that, export the head (`airlock audit verify` prints it) to somewhere they cannot write.
//!
//! # Durability
//!
//! One writer thread owns the database. Appenders send it their entries over a channel; it
//! takes everything queued (up to `max_batch`) and, in one transaction that holds the store's
//! write lock, reads the stored head, assigns the sequence numbers after it, chains and writes
//! the records with the new head, commits, and only then answers each appender. Because each
//! batch continues from the stored head, several processes can write one log (the `airlock mcp
//! wrap` entries of a desktop client share one `[audit] path`): their records interleave into
//! one chain. A head that moved on is followed only if the audit key signed it; one that moved
//! back or changed under a running writer is reported as tampering and nothing is appended. SQLite
//! runs in WAL mode with `synchronous=FULL`, so `COMMIT` returns after the WAL is fsynced: an
//! acknowledged record survives a killed process and a power cut. One fsync covers the whole
//! batch, which is how many concurrent appenders reach tens of thousands of records a second.
//! A failed commit rolls back the whole batch and every appender in it gets the error.
//!
//! With `durability = "process_crash"` (`synchronous=NORMAL`: a commit is a write to the OS,
//! the WAL is fsynced at checkpoints) a commit does not wait for the disk, so an append that
//! finds the writer idle and nothing queued commits in its own thread, under the same lock and
//! in the same kind of transaction; the hand-off to the writer thread and the wake-up back
//! cost more than the commit itself. Busy appenders still queue and are batched.
//!
//! # Storage
//!
//! Behind [`AuditStore`]: [`SqliteStore`] (default, `./airlock-data/audit.db`, the key in
//! `audit.key` beside it, created with mode 0600) and [`PostgresStore`] for fleets (tables
//! `<log>_records`, `<log>_head`, `<log>_meta`; `synchronous_commit = on`; each batch locks
//! the head table, so instances sharing a log name wait for each other's commits). Readers
//! open their own connection and read one snapshot, so `verify`, `tail`, `session` and
//! export never block the writer.
//!
//! Both stores write schema version 2 (records have a nullable `context` column, the
//! [`AuditContext`] as canonical JSON, NULL when empty). A schema 1 log, written before
//! contexts were stored, is read and verified as it is; a writer that opens one adds the
//! column and moves it to version 2 in one transaction, which changes no stored record. A log
//! of a later version is refused with its version named.
//!
//! # Use
//!
//! ```no_run
//! # fn main() -> Result<(), airlock_audit::AuditError> {
//! use airlock_audit::{AuditConfig, AuditEntry, AuditLog};
//! # let (session, principal, tool, raw_arguments, scanned, findings, decision) = (None, Default::default(), None, serde_json::Value::Null, "", vec![], airlock_core::Decision::deny("x"));
//! let log = AuditLog::open(&AuditConfig::default())?;
//! let entry = AuditEntry::redacted(
//!     session, principal, airlock_core::EventKind::ToolCall, tool,
//!     raw_arguments, scanned, &findings, decision,
//! );
//! let stored = log.append(&entry)?; // blocking; `append_async(&entry).await` from async code
//! assert!(log.verify()?.is_intact());
//! # let _ = stored; Ok(()) }
//! ```

mod canonical;
mod config;
mod error;
mod export;
mod key;
mod log;
mod pg_store;
mod record;
mod sqlite;
mod store;
mod time;
mod verify;

pub use canonical::to_canonical_json;
pub use config::{AuditConfig, DEFAULT_PATH, Durability, RawAuditConfig, default_key_file};
pub use error::AuditError;
pub use export::{ExportFormat, export, to_ocsf};
pub use key::AuditKey;
pub use log::{AppendFuture, AppendedRecord, AuditLog, AuditReader};
pub use pg_store::{PostgresStore, validate_log_name};
pub use record::{
    AuditContext, AuditEntry, AuditRecord, FindingSummary, GENESIS_HASH, StoredRecord,
    fingerprint_arguments, redact_arguments,
};
pub use sqlite::SqliteStore;
pub use store::{AuditStore, ChainBatch, ChainedBatch, SignedHead};
pub use verify::{Tamper, TamperKind, VerifyReport};
