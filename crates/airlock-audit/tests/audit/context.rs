//! The upstream context of a record: stored, read back, covered by the hash, exported, and
//! absent from records that have none, which stay exactly as they were before contexts existed
//! (including logs written by an airlock that did not store them, schema version 1).

use airlock_audit::{
    AuditContext, AuditEntry, AuditError, AuditKey, AuditLog, AuditReader, AuditRecord,
    ExportFormat, TamperKind, export,
};
use serde_json::Value;

use crate::{Fixture, entry};

/// Entry `n` as served by the `github` upstream in 1.5 ms.
pub fn entry_with_context(n: u64) -> AuditEntry {
    AuditEntry {
        context: github_context(),
        ..entry(n)
    }
}

pub fn github_context() -> AuditContext {
    AuditContext {
        upstream: Some("github".into()),
        upstream_latency_us: Some(1_500),
    }
}

/// Records 1 and 3 without a context, 2 and 4 with one.
fn mixed_fixture() -> Fixture {
    let fixture = Fixture::new();
    let log = fixture.open();
    for n in 1..=4 {
        let entry = if n % 2 == 0 {
            entry_with_context(n)
        } else {
            entry(n)
        };
        log.append(&entry).unwrap();
    }
    drop(log);
    fixture
}

fn export_lines(fixture: &Fixture, format: ExportFormat) -> Vec<Value> {
    let mut reader = AuditReader::open(&fixture.db).unwrap();
    let mut out = Vec::new();
    export(&mut reader, format, &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn assert_problem(fixture: &Fixture, sequence: u64, kind: TamperKind) {
    let report = fixture.verify();
    let problem = report
        .problem
        .as_ref()
        .unwrap_or_else(|| panic!("tampering not detected: {report:?}"));
    assert_eq!(
        (problem.sequence, problem.kind),
        (sequence, kind),
        "{problem}"
    );
}

#[test]
fn a_record_with_context_reads_back_with_it_and_one_without_reads_back_empty() {
    let fixture = mixed_fixture();
    let mut reader = AuditReader::open(&fixture.db).unwrap();
    let contexts: Vec<AuditContext> = reader
        .tail(4)
        .unwrap()
        .into_iter()
        .map(|record| record.context)
        .collect();
    assert_eq!(
        contexts,
        [
            AuditContext::default(),
            github_context(),
            AuditContext::default(),
            github_context()
        ]
    );
    // Sessions s-1 (records 1 and 4) and the live log's own reader see the same.
    let session = reader.session("s-1").unwrap();
    assert_eq!(session[1].context, github_context());
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:?}");
}

#[test]
fn the_context_is_stored_as_canonical_json_and_an_empty_one_as_null() {
    let fixture = mixed_fixture();
    let stored: Vec<Option<String>> = fixture
        .attacker()
        .prepare("SELECT context FROM audit_records ORDER BY sequence")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let github = r#"{"upstream":"github","upstream_latency_us":1500}"#.to_owned();
    assert_eq!(stored, [None, Some(github.clone()), None, Some(github)]);
}

#[test]
fn a_tampered_upstream_is_named_by_verify() {
    let fixture = mixed_fixture();
    let changed = fixture
        .attacker()
        .execute(
            "UPDATE audit_records SET context = replace(context, 'github', 'gitlab') \
             WHERE sequence = 2",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    assert_problem(&fixture, 2, TamperKind::Altered);
}

#[test]
fn a_tampered_latency_is_named_by_verify() {
    let fixture = mixed_fixture();
    fixture
        .attacker()
        .execute(
            "UPDATE audit_records SET context = replace(context, '1500', '15') \
             WHERE sequence = 4",
            [],
        )
        .unwrap();
    assert_problem(&fixture, 4, TamperKind::Altered);
}

#[test]
fn removing_a_context_or_adding_one_is_named_by_verify() {
    let removed = mixed_fixture();
    removed
        .attacker()
        .execute(
            "UPDATE audit_records SET context = NULL WHERE sequence = 2",
            [],
        )
        .unwrap();
    assert_problem(&removed, 2, TamperKind::Altered);

    let added = mixed_fixture();
    added
        .attacker()
        .execute(
            "UPDATE audit_records SET context = '{\"upstream\":\"evil\"}' WHERE sequence = 3",
            [],
        )
        .unwrap();
    assert_problem(&added, 3, TamperKind::Altered);

    // `{}` is not "no context": an attacker cannot blank a context that way either.
    let blanked = mixed_fixture();
    blanked
        .attacker()
        .execute(
            "UPDATE audit_records SET context = '{}' WHERE sequence = 1",
            [],
        )
        .unwrap();
    assert_problem(&blanked, 1, TamperKind::Altered);
}

#[test]
fn jsonl_export_carries_the_context_and_leaves_it_out_when_empty() {
    let fixture = mixed_fixture();
    let lines = export_lines(&fixture, ExportFormat::Jsonl);
    assert!(lines[0].get("context").is_none(), "{}", lines[0]);
    assert_eq!(lines[1]["context"]["upstream"], "github");
    assert_eq!(lines[1]["context"]["upstream_latency_us"], 1_500);
    let records: Vec<AuditRecord> = lines
        .into_iter()
        .map(|line| serde_json::from_value(line).unwrap())
        .collect();
    assert_eq!(
        records,
        AuditReader::open(&fixture.db).unwrap().tail(4).unwrap()
    );
}

#[test]
fn ocsf_export_maps_upstream_to_dst_endpoint_and_latency_to_duration_in_ms() {
    let fixture = mixed_fixture();
    let events = export_lines(&fixture, ExportFormat::Ocsf);
    let (without, with) = (&events[0], &events[1]);
    assert_eq!(with["dst_endpoint"]["name"], "github");
    assert_eq!(with["duration"], 2, "1500 µs rounds to 2 ms");
    assert_eq!(with["unmapped"]["upstream_latency_us"], 1_500);
    assert_eq!(with["api"]["service"]["name"], "airlock");
    assert!(without.get("dst_endpoint").is_none(), "{without}");
    assert!(without.get("duration").is_none(), "{without}");
    assert!(without["unmapped"].get("upstream_latency_us").is_none());
}

#[test]
fn ocsf_duration_rounds_to_the_nearest_millisecond_and_never_overflows() {
    let fixture = Fixture::new();
    let log = fixture.open();
    for latency in [0, 499, 500, u64::MAX] {
        let mut entry = entry(1);
        entry.context = AuditContext {
            upstream: None,
            upstream_latency_us: Some(latency),
        };
        log.append(&entry).unwrap();
    }
    drop(log);
    let events = export_lines(&fixture, ExportFormat::Ocsf);
    let durations: Vec<u64> = events
        .iter()
        .map(|event| event["duration"].as_u64().unwrap())
        .collect();
    assert_eq!(durations, [0, 0, 1, u64::MAX / 1000]);
    assert!(events[0].get("dst_endpoint").is_none());
}

/// Turns the log at `fixture` into what an airlock before contexts wrote: no `context` column,
/// schema version 1.
fn downgrade_to_schema_1(fixture: &Fixture) {
    let conn = fixture.attacker();
    conn.execute_batch(
        "ALTER TABLE audit_records DROP COLUMN context;
         UPDATE audit_meta SET value = '1' WHERE key = 'schema_version';",
    )
    .unwrap();
}

fn schema_version(fixture: &Fixture) -> String {
    fixture
        .attacker()
        .query_row(
            "SELECT value FROM audit_meta WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .unwrap()
}

#[test]
fn a_schema_1_log_is_read_as_it_is_and_the_writer_migrates_it_without_changing_a_hash() {
    let fixture = Fixture::with_records(3);
    downgrade_to_schema_1(&fixture);
    let before = AuditReader::open(&fixture.db).unwrap().tail(3).unwrap();
    assert!(fixture.verify().is_intact());
    assert_eq!(schema_version(&fixture), "1", "a reader changes nothing");

    let log = fixture.open();
    assert_eq!(schema_version(&fixture), "2");
    log.append(&entry_with_context(4)).unwrap();
    drop(log);
    let after = AuditReader::open(&fixture.db).unwrap().tail(4).unwrap();
    assert_eq!(after[..3], before[..]);
    assert_eq!(after[3].context, github_context());
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 4);
}

/// `fixtures/schema1.db` was written by airlock at commit 686c76c (before contexts were
/// stored) with the key 42 × 32 bytes: three denied `send_email` calls by agent `a` in
/// session `s-1`. It proves that a log written by that build verifies and migrates, not just
/// one made to look like it.
#[test]
fn a_log_written_before_contexts_were_stored_verifies_and_accepts_records_with_context() {
    let fixture = Fixture::new();
    std::fs::create_dir_all(fixture.db.parent().unwrap()).unwrap();
    let original =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/audit/fixtures/schema1.db");
    std::fs::copy(original, &fixture.db).unwrap();
    let key = AuditKey::from_bytes([42; 32]);
    let report = AuditReader::open(&fixture.db)
        .unwrap()
        .verify(Some(&key))
        .unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(
        report.last_hash,
        "c3aa335bb173331731859f6ccde55500b9506e9ee8986d60da47a0c38908c233"
    );

    let log = AuditLog::open_with_key(&fixture.db, key.clone(), 16).unwrap();
    assert_eq!(log.append(&entry_with_context(4)).unwrap().sequence, 4);
    drop(log);
    let mut reader = AuditReader::open(&fixture.db).unwrap();
    let report = reader.verify(Some(&key)).unwrap();
    assert!(report.is_intact(), "{report:?}");
    let records = reader.tail(4).unwrap();
    assert!(records[..3].iter().all(|r| r.context.is_empty()));
    assert_eq!(records[3].context, github_context());
}

#[test]
fn a_log_of_a_newer_schema_is_refused_with_its_version_named() {
    let fixture = Fixture::with_records(1);
    fixture
        .attacker()
        .execute(
            "UPDATE audit_meta SET value = '3' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    let err = AuditReader::open(&fixture.db).unwrap_err();
    assert!(matches!(err, AuditError::NotAnAuditLog { .. }), "{err}");
    assert!(err.to_string().contains("schema version 3"), "{err}");
    let err = AuditLog::open(&fixture.config()).unwrap_err();
    assert!(err.to_string().contains("schema version 3"), "{err}");
    assert_eq!(schema_version(&fixture), "3", "the writer leaves it alone");
}
