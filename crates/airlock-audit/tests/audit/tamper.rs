//! Each test changes the database the way someone with write access to the file could, and
//! checks that `verify` names the first bad sequence number and what happened.

use airlock_audit::{AuditConfig, AuditError, AuditLog, StoredRecord, TamperKind};
use rusqlite::params;

use crate::Fixture;

const COLUMNS: &str = "sequence, time, session, principal, event_kind, tool, arguments, \
                       arguments_fingerprint, findings, decision, prev_hash, hash, context";

fn read(conn: &rusqlite::Connection, sequence: i64) -> StoredRecord {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM audit_records WHERE sequence = ?1"),
        [sequence],
        |row| {
            Ok(StoredRecord {
                sequence: row.get::<_, i64>(0)? as u64,
                time: row.get(1)?,
                session: row.get(2)?,
                principal: row.get(3)?,
                event_kind: row.get(4)?,
                tool: row.get(5)?,
                arguments: row.get(6)?,
                arguments_fingerprint: row.get(7)?,
                findings: row.get(8)?,
                decision: row.get(9)?,
                prev_hash: row.get(10)?,
                hash: row.get(11)?,
                context: row.get(12)?,
            })
        },
    )
    .unwrap()
}

fn insert(conn: &rusqlite::Connection, record: &StoredRecord) {
    conn.execute(
        &format!(
            "INSERT INTO audit_records ({COLUMNS}) \
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"
        ),
        params![
            record.sequence as i64,
            record.time,
            record.session,
            record.principal,
            record.event_kind,
            record.tool,
            record.arguments,
            record.arguments_fingerprint,
            record.findings,
            record.decision,
            record.prev_hash,
            record.hash,
            record.context
        ],
    )
    .unwrap();
}

fn assert_problem(fixture: &Fixture, sequence: u64, kind: TamperKind) {
    let report = fixture.verify();
    let problem = report.problem.as_ref().unwrap_or_else(|| {
        panic!("tampering not detected: {report:?}");
    });
    assert_eq!(
        (problem.sequence, problem.kind),
        (sequence, kind),
        "{problem}"
    );
}

#[test]
fn an_untouched_log_verifies_with_its_record_count() {
    let fixture = Fixture::with_records(10);
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.records, report.last_sequence), (10, 10));
    let last = airlock_audit::AuditReader::open(&fixture.db)
        .unwrap()
        .tail(1)
        .unwrap();
    assert_eq!(report.last_hash, last[0].hash);
    assert!(report.head_authenticated);
}

#[test]
fn an_edited_decision_is_named_by_its_sequence_number() {
    let fixture = Fixture::with_records(10);
    let changed = fixture
        .attacker()
        .execute(
            "UPDATE audit_records SET decision = replace(decision, '\"deny\"', '\"allow\"') \
             WHERE sequence = 4",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    assert_problem(&fixture, 4, TamperKind::Altered);
}

#[test]
fn a_deleted_middle_record_is_named_as_missing() {
    let fixture = Fixture::with_records(10);
    fixture
        .attacker()
        .execute("DELETE FROM audit_records WHERE sequence = 5", [])
        .unwrap();
    assert_problem(&fixture, 5, TamperKind::Missing);
}

#[test]
fn a_forged_record_inserted_in_the_middle_breaks_the_link_to_the_next() {
    let fixture = Fixture::with_records(10);
    let conn = fixture.attacker();
    // Make room at 5 by renumbering 5..=10, then insert a record with a correct hash that
    // links to record 4: the best an attacker without the key can do. The forged record
    // itself is self-consistent; the chain breaks at the record after it.
    for sequence in (5..=10).rev() {
        conn.execute(
            "UPDATE audit_records SET sequence = ?1 WHERE sequence = ?2",
            [sequence + 1, sequence],
        )
        .unwrap();
    }
    let before = read(&conn, 4);
    let mut forged = read(&conn, 6);
    forged.sequence = 5;
    forged.decision = r#"{"outcome":"allow"}"#.into();
    forged.prev_hash = before.hash;
    forged.hash = forged.compute_hash();
    insert(&conn, &forged);
    assert_problem(&fixture, 6, TamperKind::Unlinked);
}

#[test]
fn a_record_appended_by_hand_is_caught_by_the_signed_head() {
    let fixture = Fixture::with_records(10);
    let conn = fixture.attacker();
    let last = read(&conn, 10);
    let mut forged = last.clone();
    forged.sequence = 11;
    forged.prev_hash = last.hash;
    forged.hash = forged.compute_hash();
    insert(&conn, &forged);
    assert_problem(&fixture, 11, TamperKind::Extended);
}

#[test]
fn swapped_records_are_named_at_the_first_of_the_two() {
    let fixture = Fixture::with_records(10);
    let conn = fixture.attacker();
    for (to, from) in [(-1, 3), (3, 4), (4, -1)] {
        conn.execute(
            "UPDATE audit_records SET sequence = ?1 WHERE sequence = ?2",
            [to, from],
        )
        .unwrap();
    }
    assert_problem(&fixture, 3, TamperKind::Unlinked);
}

#[test]
fn a_deleted_last_record_is_caught_by_the_signed_head() {
    let fixture = Fixture::with_records(10);
    fixture
        .attacker()
        .execute("DELETE FROM audit_records WHERE sequence = 10", [])
        .unwrap();
    assert_problem(&fixture, 10, TamperKind::Truncated);
}

#[test]
fn moving_the_head_back_after_deleting_the_last_record_needs_the_key() {
    let fixture = Fixture::with_records(10);
    let conn = fixture.attacker();
    let ninth = read(&conn, 9);
    conn.execute("DELETE FROM audit_records WHERE sequence = 10", [])
        .unwrap();
    conn.execute(
        "UPDATE audit_head SET sequence = 9, hash = ?1",
        [&ninth.hash],
    )
    .unwrap();
    assert_problem(&fixture, 9, TamperKind::HeadForged);
    // Without the key a verifier can only check that the head and the chain agree, and here
    // they do: this is the limit of a log verified without its key.
    let unkeyed = airlock_audit::AuditReader::open(&fixture.db)
        .unwrap()
        .verify(None)
        .unwrap();
    assert!(unkeyed.is_intact());
    assert!(!unkeyed.head_authenticated);
}

#[test]
fn rewriting_every_hash_after_an_edit_is_caught_by_the_signed_head() {
    let fixture = Fixture::with_records(6);
    let conn = fixture.attacker();
    let mut prev = read(&conn, 2).hash;
    for sequence in 3..=6 {
        let mut record = read(&conn, sequence);
        if sequence == 4 {
            record.decision = r#"{"outcome":"allow"}"#.into();
        }
        record.prev_hash = prev;
        record.hash = record.compute_hash();
        conn.execute(
            "UPDATE audit_records SET decision = ?1, prev_hash = ?2, hash = ?3 WHERE sequence = ?4",
            params![record.decision, record.prev_hash, record.hash, sequence],
        )
        .unwrap();
        prev = record.hash;
    }
    // The head still names the old hash of record 6.
    assert_problem(&fixture, 6, TamperKind::HeadMismatch);
    // And if the head is moved to the new hash without the key, its MAC gives it away.
    conn.execute("UPDATE audit_head SET hash = ?1", [&prev])
        .unwrap();
    assert_problem(&fixture, 6, TamperKind::HeadForged);
}

#[test]
fn a_deleted_head_is_reported() {
    let fixture = Fixture::with_records(3);
    fixture
        .attacker()
        .execute("DELETE FROM audit_head", [])
        .unwrap();
    assert_problem(&fixture, 1, TamperKind::HeadMissing);
}

#[test]
fn the_writer_refuses_to_continue_a_tampered_log() {
    let fixture = Fixture::with_records(5);
    fixture
        .attacker()
        .execute("DELETE FROM audit_records WHERE sequence = 5", [])
        .unwrap();
    let err = AuditLog::open(&AuditConfig::at(&fixture.db)).unwrap_err();
    assert!(matches!(err, AuditError::Tampered { .. }), "{err}");
    assert!(err.to_string().contains("airlock audit verify"), "{err}");
}

#[test]
fn a_running_writer_refuses_to_append_after_its_last_record_was_removed() {
    let fixture = Fixture::new();
    let log = fixture.open();
    for n in 1..=3 {
        log.append(&crate::entry(n)).unwrap();
    }
    let conn = fixture.attacker();
    let second = read(&conn, 2);
    conn.execute("DELETE FROM audit_records WHERE sequence = 3", [])
        .unwrap();
    conn.execute(
        "UPDATE audit_head SET sequence = 2, hash = ?1",
        [&second.hash],
    )
    .unwrap();
    let err = log.append(&crate::entry(4)).unwrap_err();
    assert!(matches!(err, AuditError::AppendFailed(_)), "{err}");
    assert!(
        err.to_string()
            .contains("the head names record 2 with a hash this writer did not store"),
        "{err}"
    );
    assert_eq!(read_head_sequence(&conn), 2, "nothing was appended");
}

#[test]
fn a_running_writer_refuses_to_continue_after_a_head_moved_on_without_the_key() {
    let fixture = Fixture::new();
    let log = fixture.open();
    for n in 1..=3 {
        log.append(&crate::entry(n)).unwrap();
    }
    let conn = fixture.attacker();
    let last = read(&conn, 3);
    let mut forged = last.clone();
    forged.sequence = 4;
    forged.prev_hash = last.hash;
    forged.hash = forged.compute_hash();
    insert(&conn, &forged);
    conn.execute(
        "UPDATE audit_head SET sequence = 4, hash = ?1",
        [&forged.hash],
    )
    .unwrap();
    let err = log.append(&crate::entry(5)).unwrap_err();
    assert!(
        err.to_string()
            .contains("the head (record 4) was not signed with the audit key"),
        "{err}"
    );
    assert_eq!(read_head_sequence(&conn), 4, "nothing was appended");
}

fn read_head_sequence(conn: &rusqlite::Connection) -> i64 {
    conn.query_row("SELECT sequence FROM audit_head", [], |row| row.get(0))
        .unwrap()
}
