//! `airlock audit`: verify, tail, session and export against a log written by the library,
//! at the default path `./airlock-data/audit.db` unless a test says otherwise.

use std::path::{Path, PathBuf};

use airlock_audit::{AuditConfig, AuditContext, AuditEntry, AuditLog};
use airlock_core::{Category, Decision, EventKind, Finding, Outcome, Principal, Severity, Span};
use serde_json::{Value, json};

use crate::{AWS_ID, airlock_in};

fn entry(n: u64) -> AuditEntry {
    let arguments = json!({"to": format!("user{n}@example.org")});
    AuditEntry {
        session: Some(if n <= 3 { "s-early" } else { "s-late" }.into()),
        principal: Principal {
            agent: Some("mail-agent".into()),
            user: Some("ana".into()),
            ..Principal::default()
        },
        event_kind: EventKind::ToolCall,
        tool: Some("send_email".into()),
        arguments: arguments.clone(),
        raw_arguments: arguments,
        findings: vec![],
        decision: if n.is_multiple_of(2) {
            Decision::deny("untrusted data may not leave by e-mail")
        } else {
            Decision {
                outcome: Outcome::Allow,
                reasons: vec![],
                policy_ids: vec![],
                step_up: None,
            }
        },
        context: AuditContext::default(),
    }
}

/// A temp dir holding `airlock-data/audit.db` with `n` records (and its key beside it).
fn log_with(n: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("airlock-data/audit.db");
    let log = AuditLog::open(&AuditConfig::at(&db)).unwrap();
    for i in 1..=n {
        log.append(&entry(i)).unwrap();
    }
    (dir, db)
}

fn audit(dir: &Path, args: &[&str]) -> crate::Run {
    let mut full = vec!["audit"];
    full.extend_from_slice(args);
    airlock_in(dir, &full, None)
}

#[test]
fn verify_reports_an_intact_log_with_its_record_count() {
    let (dir, _db) = log_with(5);
    let run = audit(dir.path(), &["verify"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.stdout.contains("intact: 5 records"), "{}", run.stdout);
    assert!(
        run.stdout.contains("signed head verified"),
        "{}",
        run.stdout
    );
    let hash = run.stdout.lines().nth(1).unwrap();
    let hash = hash.strip_prefix("last hash: ").unwrap();
    assert_eq!(hash.len(), 64, "{}", run.stdout);
}

#[test]
fn verify_names_the_first_tampered_record_and_exits_1() {
    let (dir, db) = log_with(5);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE audit_records SET decision = replace(decision, 'deny', 'allow') WHERE sequence = 4",
        [],
    )
    .unwrap();
    conn.execute("DELETE FROM audit_records WHERE sequence = 5", [])
        .unwrap();
    drop(conn);
    let run = audit(dir.path(), &["verify"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stdout.contains("tampered: record 4 altered"),
        "{}",
        run.stdout
    );
    let json = audit(dir.path(), &["verify", "--json"]);
    assert_eq!(json.code, 1);
    let report: Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert_eq!(report["problem"]["sequence"], 4);
    assert_eq!(report["problem"]["kind"], "altered");
}

#[test]
fn verify_without_the_key_warns_that_the_head_is_only_compared() {
    let (dir, db) = log_with(2);
    std::fs::rename(
        db.with_file_name("audit.key"),
        dir.path().join("elsewhere.key"),
    )
    .unwrap();
    let run = audit(dir.path(), &["verify"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.stderr.contains("not authenticated"), "{}", run.stderr);
    let keyed = audit(dir.path(), &["verify", "--key", "elsewhere.key"]);
    assert_eq!(keyed.code, 0, "{}", keyed.all_output());
    assert!(keyed.stdout.contains("signed head verified"));
}

#[test]
fn a_missing_database_or_one_that_is_not_an_audit_log_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        &["verify"][..],
        &["tail"],
        &["session", "x"],
        &["export", "--format", "jsonl"],
    ] {
        let run = audit(dir.path(), command);
        assert_eq!(run.code, 2, "{command:?}: {}", run.all_output());
        assert!(
            run.stderr
                .contains("no audit database at `airlock-data/audit.db`"),
            "{}",
            run.stderr
        );
    }
    assert!(
        !dir.path().join("airlock-data").exists(),
        "reading must not create a log"
    );
    std::fs::write(
        dir.path().join("notes.db"),
        "just text, not SQLite at all, long enough",
    )
    .unwrap();
    let run = audit(dir.path(), &["verify", "--db", "notes.db"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("not an airlock audit log"),
        "{}",
        run.stderr
    );
}

#[test]
fn tail_shows_the_last_records_as_a_timeline() {
    let (dir, _db) = log_with(5);
    let run = audit(dir.path(), &["tail", "-n", "2"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(lines[0].starts_with("#4 "), "{}", lines[0]);
    assert!(
        lines[0].contains(
            "mail-agent for ana tool_call send_email deny: untrusted data may not leave by e-mail"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("#5 ") && lines[1].ends_with(" allow"),
        "{}",
        lines[1]
    );
}

#[test]
fn session_shows_only_that_sessions_records() {
    let (dir, _db) = log_with(5);
    let run = audit(dir.path(), &["session", "s-early"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let sequences: Vec<&str> = run
        .stdout
        .lines()
        .map(|line| line.split(' ').next().unwrap())
        .collect();
    assert_eq!(sequences, ["#1", "#2", "#3"]);
    let json = audit(dir.path(), &["session", "s-late", "--json"]);
    assert_eq!(json.stdout.lines().count(), 2, "{}", json.stdout);
    let unknown = audit(dir.path(), &["session", "nobody"]);
    assert_eq!(unknown.code, 0);
    assert!(unknown.stdout.is_empty());
    assert!(unknown.stderr.contains("no records for session `nobody`"));
}

#[test]
fn export_writes_one_json_document_per_record_in_either_format() {
    let (dir, _db) = log_with(3);
    let jsonl = audit(dir.path(), &["export", "--format", "jsonl"]);
    assert_eq!(jsonl.code, 0, "{}", jsonl.all_output());
    let records: Vec<Value> = jsonl
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[2]["sequence"], 3);
    assert_eq!(records[1]["prev_hash"], records[0]["hash"]);

    let ocsf = audit(dir.path(), &["export", "--format", "ocsf"]);
    assert_eq!(ocsf.code, 0, "{}", ocsf.all_output());
    let events: Vec<Value> = ocsf
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[1]["class_uid"], 6003);
    assert_eq!(events[1]["disposition"], "Blocked");

    let missing = audit(dir.path(), &["export"]);
    assert_eq!(missing.code, 2, "{}", missing.all_output());
}

#[test]
fn no_audit_output_ever_shows_a_redacted_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("airlock-data/audit.db");
    let log = AuditLog::open(&AuditConfig::at(&db)).unwrap();
    let raw = json!({"body": format!("use {AWS_ID} for the upload")});
    let scanned = raw.to_string();
    let start = scanned.find(AWS_ID).unwrap();
    let finding = Finding {
        detector: "secrets".into(),
        rule: "aws_access_key".into(),
        category: Category::Secret,
        severity: Severity::Critical,
        score: 0.9,
        span: Span::new(start, start + AWS_ID.len()),
        excerpt: "AKIA********".into(),
        message: "AWS access key id".into(),
        via: vec![],
    };
    log.append(&AuditEntry::redacted(
        Some("leak".into()),
        Principal::default(),
        EventKind::ToolCall,
        Some("upload".into()),
        raw,
        &scanned,
        &[finding],
        Decision::deny("credential in arguments"),
    ))
    .unwrap();
    drop(log);
    for command in [
        &["tail"][..],
        &["session", "leak", "--json"],
        &["export", "--format", "jsonl"],
        &["export", "--format", "ocsf"],
    ] {
        let run = audit(dir.path(), command);
        assert_eq!(run.code, 0, "{command:?}: {}", run.all_output());
        assert!(
            !run.all_output().contains(AWS_ID),
            "{command:?} printed the key"
        );
    }
    let tail = audit(dir.path(), &["tail"]);
    assert!(
        tail.stdout.contains("[secrets/aws_access_key critical]"),
        "{}",
        tail.stdout
    );
}

#[test]
fn verify_and_tail_read_a_postgres_log() {
    const URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
    let log_name = format!("audit_cli_{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let key = airlock_audit::AuditKey::load_or_create(&dir.path().join("pg.key")).unwrap();
    let log = AuditLog::open_postgres(URL, &log_name, key, 64).unwrap();
    for i in 1..=4 {
        log.append(&entry(i)).unwrap();
    }
    drop(log);
    let verify = audit(
        dir.path(),
        &[
            "verify",
            "--postgres",
            URL,
            "--log",
            &log_name,
            "--key",
            "pg.key",
        ],
    );
    let tail = audit(
        dir.path(),
        &["tail", "-n", "1", "--postgres", URL, "--log", &log_name],
    );
    let mut client = postgres::Client::connect(URL, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {0}_records, {0}_head, {0}_meta",
            log_name
        ))
        .unwrap();
    assert_eq!(verify.code, 0, "{}", verify.all_output());
    assert!(
        verify.stdout.contains("intact: 4 records"),
        "{}",
        verify.stdout
    );
    assert!(tail.stdout.starts_with("#4 "), "{}", tail.all_output());
}
