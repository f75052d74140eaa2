//! Tests of the audit log through its public API, with the database opened directly (plain
//! rusqlite) wherever a test plays the attacker.

// In a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod context;
mod durability;
mod log;
mod postgres;
mod tamper;

use std::path::{Path, PathBuf};

use airlock_audit::{AuditConfig, AuditContext, AuditEntry, AuditKey, AuditLog, default_key_file};
use airlock_core::{Decision, EventKind, Outcome, Principal};
use serde_json::json;

/// A synthetic AWS access key id: the format of a real one, nobody's key. Split so that
/// secret scanners do not flag this file.
pub const AWS_ID: &str = concat!("AKIA", "6NAR2KHSWAUUXBNX");

/// Entry number `n`: sessions `s-0`…`s-2` in turn, even numbers denied.
pub fn entry(n: u64) -> AuditEntry {
    let arguments = json!({"to": format!("user{n}@example.org"), "subject": "report", "n": n});
    let decision = if n.is_multiple_of(2) {
        Decision {
            outcome: Outcome::Deny,
            reasons: vec!["untrusted data may not leave by e-mail".into()],
            policy_ids: vec!["no-exfil".into()],
            step_up: None,
        }
    } else {
        Decision {
            outcome: Outcome::Allow,
            reasons: vec![],
            policy_ids: vec!["default-allow".into()],
            step_up: None,
        }
    };
    AuditEntry {
        session: Some(format!("s-{}", n % 3)),
        principal: Principal {
            agent: Some("mail-agent".into()),
            user: Some("ana".into()),
            roles: vec!["support".into()],
            ..Principal::default()
        },
        event_kind: EventKind::ToolCall,
        tool: Some("send_email".into()),
        arguments: arguments.clone(),
        raw_arguments: arguments,
        findings: vec![],
        decision,
        context: AuditContext::default(),
    }
}

/// A log in a fresh directory.
#[derive(Debug)]
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Default for Fixture {
    fn default() -> Fixture {
        Fixture::new()
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data/audit.db");
        Fixture { dir, db }
    }

    pub fn config(&self) -> AuditConfig {
        AuditConfig::at(&self.db)
    }

    pub fn open(&self) -> AuditLog {
        AuditLog::open(&self.config()).unwrap()
    }

    /// Appends entries 1..=n and closes the log.
    pub fn with_records(n: u64) -> Fixture {
        let fixture = Fixture::new();
        let log = fixture.open();
        for i in 1..=n {
            assert_eq!(log.append(&entry(i)).unwrap().sequence, i);
        }
        drop(log);
        fixture
    }

    pub fn key(&self) -> AuditKey {
        AuditKey::load(&default_key_file(&self.db)).unwrap()
    }

    /// A direct connection, as an attacker with write access to the file would have.
    pub fn attacker(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db).unwrap()
    }

    pub fn verify(&self) -> airlock_audit::VerifyReport {
        airlock_audit::AuditReader::open(&self.db)
            .unwrap()
            .verify(Some(&self.key()))
            .unwrap()
    }
}

/// Every byte of every file under `dir` (database, WAL, shared memory, key).
pub fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in walk(dir) {
        bytes.extend(std::fs::read(entry).unwrap());
    }
    bytes
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}
