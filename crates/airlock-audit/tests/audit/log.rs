//! Appending, reading back, secrets, keys and export.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use airlock_audit::{
    AuditConfig, AuditEntry, AuditError, AuditKey, AuditLog, AuditReader, AuditRecord, Durability,
    ExportFormat, GENESIS_HASH, export, fingerprint_arguments,
};
use airlock_core::{Category, Decision, EventKind, Finding, Outcome, Principal, Severity, Span};
use serde_json::{Value, json};

use crate::{AWS_ID, Fixture, all_bytes, contains, entry};

#[test]
fn records_chain_from_the_genesis_hash_and_read_back_as_appended() {
    let fixture = Fixture::new();
    let log = fixture.open();
    let first = log.append(&entry(1)).unwrap();
    let second = log.append(&entry(2)).unwrap();
    assert_eq!((first.sequence, second.sequence), (1, 2));
    let records = log.tail(10).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].prev_hash, GENESIS_HASH);
    assert_eq!(records[1].prev_hash, first.hash);
    assert_eq!(records[1].hash, second.hash);
    assert_eq!(records[1].decision.outcome, Outcome::Deny);
    assert_eq!(records[0].tool.as_deref(), Some("send_email"));
    assert!(records[0].time.ends_with('Z') && records[0].time.len() == 24);
    assert!(log.verify().unwrap().is_intact());
}

#[test]
fn reopening_resumes_the_chain_where_it_ended() {
    let fixture = Fixture::with_records(3);
    let log = fixture.open();
    let next = log.append(&entry(4)).unwrap();
    assert_eq!(next.sequence, 4);
    let report = log.verify().unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 4);
}

/// Eight threads, four blocking and four with many appends in flight through `append_with`.
/// With `process_crash` appends that find the writer idle commit in their own thread, the
/// rest go through the writer thread: the chain must come out the same.
fn concurrent_appenders_get_distinct_gapless_sequence_numbers(durability: Durability) {
    let fixture = Fixture::new();
    let log = AuditLog::open(&AuditConfig {
        durability,
        ..fixture.config()
    })
    .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                if t % 2 == 0 {
                    return (0..100)
                        .map(|i| log.append(&entry(t * 100 + i)).unwrap().sequence)
                        .collect::<Vec<_>>();
                }
                let (sender, receiver) = std::sync::mpsc::channel();
                for i in 0..100 {
                    let sender = sender.clone();
                    log.append_with(&entry(t * 100 + i), move |result| {
                        let _ = sender.send(result.unwrap().sequence);
                    });
                }
                drop(sender);
                receiver.iter().collect()
            })
        })
        .collect();
    let sequences: BTreeSet<u64> = threads
        .into_iter()
        .flat_map(|thread| thread.join().unwrap())
        .collect();
    assert_eq!(sequences, (1..=800).collect());
    assert!(log.verify().unwrap().is_intact());
}

#[test]
fn concurrent_appenders_get_distinct_gapless_sequence_numbers_power_loss() {
    concurrent_appenders_get_distinct_gapless_sequence_numbers(Durability::PowerLoss);
}

#[test]
fn concurrent_appenders_get_distinct_gapless_sequence_numbers_process_crash() {
    concurrent_appenders_get_distinct_gapless_sequence_numbers(Durability::ProcessCrash);
}

/// Several processes may write one SQLite log: the `airlock mcp wrap` entries of a desktop
/// client's configuration share its `[audit] path`. Two logs open on one file stand for them
/// here (each has its own connection, writer thread and idea of where the chain ends).
fn two_writers_on_one_file_interleave_into_one_chain(durability: Durability) {
    let fixture = Fixture::new();
    let open = || {
        AuditLog::open(&AuditConfig {
            durability,
            ..fixture.config()
        })
        .unwrap()
    };
    let (first, second) = (open(), open());
    for n in 1..=6 {
        let writer = if n % 2 == 1 { &first } else { &second };
        assert_eq!(writer.append(&entry(n)).unwrap().sequence, n);
    }
    let threads: Vec<_> = [&first, &second, &first, &second]
        .into_iter()
        .enumerate()
        .map(|(t, log)| {
            let log = log.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| log.append(&entry(t as u64 * 50 + i)).unwrap().sequence)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let sequences: BTreeSet<u64> = threads
        .into_iter()
        .flat_map(|thread| thread.join().unwrap())
        .collect();
    assert_eq!(sequences, (7..=206).collect());
    let report = second.verify().unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 206);
}

#[test]
fn two_writers_on_one_file_interleave_into_one_chain_power_loss() {
    two_writers_on_one_file_interleave_into_one_chain(Durability::PowerLoss);
}

#[test]
fn two_writers_on_one_file_interleave_into_one_chain_process_crash() {
    two_writers_on_one_file_interleave_into_one_chain(Durability::ProcessCrash);
}

#[test]
fn tail_and_session_return_records_oldest_first() {
    let fixture = Fixture::with_records(9);
    let mut reader = AuditReader::open(&fixture.db).unwrap();
    let tail: Vec<u64> = reader.tail(3).unwrap().iter().map(|r| r.sequence).collect();
    assert_eq!(tail, [7, 8, 9]);
    let session: Vec<u64> = reader
        .session("s-1")
        .unwrap()
        .iter()
        .map(|r| r.sequence)
        .collect();
    assert_eq!(session, [1, 4, 7]);
    assert!(reader.session("no-such-session").unwrap().is_empty());
}

fn aws_entry(scanned_arguments: &Value, secret: &str) -> AuditEntry {
    let scanned = serde_json::to_string(scanned_arguments).unwrap();
    let start = scanned.find(secret).unwrap();
    let finding = Finding {
        detector: "secrets".into(),
        rule: "aws_access_key".into(),
        category: Category::Secret,
        severity: Severity::Critical,
        score: 0.95,
        span: Span::new(start, start + secret.len()),
        excerpt: "AKIA********".into(),
        message: "AWS access key id".into(),
        via: vec![],
    };
    AuditEntry::redacted(
        Some("leaky".into()),
        Principal::default(),
        EventKind::ToolCall,
        Some("send_email".into()),
        scanned_arguments.clone(),
        &scanned,
        &[finding],
        Decision::deny("a credential may not leave by e-mail"),
    )
}

#[test]
fn a_secret_in_the_arguments_never_reaches_the_database_files() {
    let fixture = Fixture::new();
    let log = fixture.open();
    let raw = json!({"to": "x@example.org", "body": format!("my key is {AWS_ID}, keep it safe")});
    let appended = log.append(&aws_entry(&raw, AWS_ID)).unwrap();
    // While the log is open the record sits in the WAL; after closing, in the main file.
    assert!(!contains(&all_bytes(fixture.dir.path()), AWS_ID));
    let record = &log.session("leaky").unwrap()[0];
    assert_eq!(
        record.arguments["body"],
        "my key is [REDACTED:aws_access_key#1], keep it safe"
    );
    assert_eq!(record.findings[0].rule, "aws_access_key");
    assert_eq!(record.findings[0].score, 0.95);
    assert_eq!(record.hash, appended.hash);
    drop(log);
    assert!(!contains(&all_bytes(fixture.dir.path()), AWS_ID));
    assert!(contains(
        &all_bytes(fixture.dir.path()),
        "REDACTED:aws_access_key#1"
    ));
}

#[test]
fn the_fingerprint_tells_identical_raw_arguments_from_different_ones() {
    let fixture = Fixture::new();
    let log = fixture.open();
    let raw = json!({"body": format!("key {AWS_ID}")});
    let other_id = AWS_ID.replace('X', "Y");
    let other = json!({"body": format!("key {other_id}")});
    log.append(&aws_entry(&raw, AWS_ID)).unwrap();
    log.append(&aws_entry(&raw, AWS_ID)).unwrap();
    log.append(&aws_entry(&other, &other_id)).unwrap();
    let records = log.session("leaky").unwrap();
    // Both secrets redact to the same text, yet the fingerprints still tell them apart.
    assert_eq!(records[0].arguments, records[2].arguments);
    assert_eq!(
        records[0].arguments_fingerprint,
        records[1].arguments_fingerprint
    );
    assert_ne!(
        records[0].arguments_fingerprint,
        records[2].arguments_fingerprint
    );
    assert_eq!(
        records[0].arguments_fingerprint,
        fingerprint_arguments(log.key(), &raw)
    );
    // Under another key the same arguments fingerprint differently: the value cannot be
    // guessed and checked without the key.
    let stranger = AuditKey::from_bytes([7; 32]);
    assert_ne!(
        fingerprint_arguments(&stranger, &raw),
        records[0].arguments_fingerprint
    );
}

#[test]
fn opening_with_another_key_is_refused() {
    let fixture = Fixture::with_records(1);
    let err = AuditLog::open_with_key(&fixture.db, AuditKey::from_bytes([9; 32]), 16).unwrap_err();
    assert!(matches!(err, AuditError::KeyMismatch { .. }), "{err}");
}

#[test]
fn readers_reject_missing_files_and_databases_that_are_not_audit_logs() {
    let dir = tempfile::tempdir().unwrap();
    let missing = AuditReader::open(&dir.path().join("nope.db")).unwrap_err();
    assert!(matches!(missing, AuditError::NotFound { .. }), "{missing}");
    assert!(
        !dir.path().join("nope.db").exists(),
        "a reader must not create a file"
    );

    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "not a database at all, just some text that is long enough",
    )
    .unwrap();
    let err = AuditReader::open(&text).unwrap_err();
    assert!(matches!(err, AuditError::NotAnAuditLog { .. }), "{err}");

    let other = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute("CREATE TABLE users (name TEXT)", []).unwrap();
    drop(conn);
    let err = AuditReader::open(&other).unwrap_err();
    assert!(
        err.to_string().contains("not an airlock audit log"),
        "{err}"
    );
    // The writer refuses it too, and leaves it as it was.
    let err = AuditLog::open_with_key(&other, AuditKey::from_bytes([1; 32]), 16).unwrap_err();
    assert!(matches!(err, AuditError::NotAnAuditLog { .. }), "{err}");
}

#[test]
fn jsonl_export_round_trips_every_record() {
    let fixture = Fixture::with_records(5);
    let mut reader = AuditReader::open(&fixture.db).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        export(&mut reader, ExportFormat::Jsonl, &mut out).unwrap(),
        5
    );
    let text = String::from_utf8(out).unwrap();
    let records: Vec<AuditRecord> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records, reader.tail(5).unwrap());
}

#[test]
fn ocsf_export_maps_outcomes_to_dispositions_and_actors() {
    let fixture = Fixture::with_records(2);
    let mut reader = AuditReader::open(&fixture.db).unwrap();
    let mut out = Vec::new();
    export(&mut reader, ExportFormat::Ocsf, &mut out).unwrap();
    let events: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let (allowed, denied) = (&events[0], &events[1]);
    assert_eq!(allowed["class_uid"], 6003);
    assert_eq!(allowed["type_uid"], 600_399);
    assert_eq!(allowed["disposition"], "Allowed");
    assert_eq!(allowed["status_id"], 1);
    assert_eq!(denied["disposition_id"], 2);
    assert_eq!(denied["status"], "Failure");
    assert_eq!(denied["message"], "untrusted data may not leave by e-mail");
    assert_eq!(denied["actor"]["user"]["name"], "ana");
    assert_eq!(denied["actor"]["app_name"], "mail-agent");
    assert_eq!(denied["actor"]["session"]["uid"], "s-2");
    assert_eq!(denied["api"]["operation"], "send_email");
    assert_eq!(denied["metadata"]["product"]["name"], "airlock");
    assert_eq!(denied["unmapped"]["sequence"], 2);
    assert!(denied["time"].as_i64().unwrap() > 1_600_000_000_000);
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

#[test]
fn append_async_resolves_when_the_record_is_stored() {
    let fixture = Fixture::new();
    let log = fixture.open();
    let futures: Vec<_> = (1..=3).map(|i| log.append_async(&entry(i))).collect();
    let sequences: Vec<u64> = futures
        .into_iter()
        .map(|future| block_on(future).unwrap().sequence)
        .collect();
    assert_eq!(sequences, [1, 2, 3]);
    assert_eq!(log.tail(1).unwrap()[0].sequence, 3);
}
