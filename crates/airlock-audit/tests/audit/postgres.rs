//! The PostgreSQL store against the real server at 127.0.0.1:5432 (database `test`, user
//! `postgres`). Each test writes its own uniquely named log and drops its tables at the end.

use std::sync::atomic::{AtomicU32, Ordering};

use airlock_audit::{AuditContext, AuditError, AuditKey, AuditLog, AuditReader, TamperKind};

use crate::context::{entry_with_context, github_context};
use crate::entry;

const URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// A unique log name; its tables are dropped when this goes out of scope.
struct PgLog {
    name: String,
}

impl PgLog {
    fn new(test: &str) -> PgLog {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "audit_{test}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        PgLog { name }
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(URL, postgres::NoTls).unwrap()
    }

    fn open(&self, key: &AuditKey) -> AuditLog {
        AuditLog::open_postgres(URL, &self.name, key.clone(), 256).unwrap()
    }
}

impl Drop for PgLog {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(URL, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP TABLE IF EXISTS {0}_records, {0}_head, {0}_meta",
                self.name
            ));
        }
    }
}

#[test]
fn postgres_log_chains_resumes_and_verifies() {
    let pg = PgLog::new("chain");
    let key = AuditKey::from_bytes([3; 32]);
    let log = pg.open(&key);
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    log.append(&entry(t * 25 + i)).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    drop(log);
    let log = pg.open(&key);
    assert_eq!(log.append(&entry(7)).unwrap().sequence, 101);
    let report = log.verify().unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 101);
    let tail: Vec<u64> = log.tail(2).unwrap().iter().map(|r| r.sequence).collect();
    assert_eq!(tail, [100, 101]);
}

#[test]
fn postgres_log_names_an_edited_record() {
    let pg = PgLog::new("edit");
    let key = AuditKey::from_bytes([4; 32]);
    let log = pg.open(&key);
    for i in 1..=6 {
        log.append(&entry(i)).unwrap();
    }
    drop(log);
    pg.client()
        .execute(
            &format!(
                "UPDATE {}_records SET tool = 'read_file' WHERE sequence = 3",
                pg.name
            ),
            &[],
        )
        .unwrap();
    let report = AuditReader::open_postgres(URL, &pg.name)
        .unwrap()
        .verify(Some(&key))
        .unwrap();
    let problem = report.problem.unwrap();
    assert_eq!((problem.sequence, problem.kind), (3, TamperKind::Altered));
}

#[test]
fn two_writers_on_the_same_postgres_log_interleave_into_one_chain() {
    let pg = PgLog::new("shared");
    let key = AuditKey::from_bytes([5; 32]);
    let first = pg.open(&key);
    let second = pg.open(&key);
    for n in 1..=6 {
        let writer = if n % 2 == 1 { &first } else { &second };
        assert_eq!(writer.append(&entry(n)).unwrap().sequence, n);
    }
    let report = first.verify().unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 6);
}

/// Instances of a fleet started together on a new log: their first batches race for a head
/// that does not exist yet, and must take turns instead of both writing record 1; meanwhile
/// the instances that got in first append again, and must not deadlock with those still
/// waiting for their first turn.
#[test]
fn writers_starting_a_new_postgres_log_together_all_get_their_records_in() {
    const WRITERS: usize = 4;
    const APPENDS: u64 = 8;
    for round in 0..5 {
        let pg = PgLog::new("race");
        let key = AuditKey::from_bytes([6; 32]);
        let writers: Vec<AuditLog> = (0..WRITERS).map(|_| pg.open(&key)).collect();
        let start = std::sync::Barrier::new(writers.len());
        std::thread::scope(|scope| {
            for writer in &writers {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    for n in 0..APPENDS {
                        if let Err(err) = writer.append(&entry(n)) {
                            panic!("round {round}, append {n}: {err}");
                        }
                    }
                });
            }
        });
        let report = writers[0].verify().unwrap();
        assert!(report.is_intact(), "round {round}: {report:?}");
        assert_eq!(report.records, WRITERS as u64 * APPENDS, "round {round}");
    }
}

#[test]
fn reading_a_postgres_log_that_does_not_exist_is_an_error() {
    let pg = PgLog::new("absent");
    let err = AuditReader::open_postgres(URL, &pg.name).unwrap_err();
    assert!(matches!(err, AuditError::NotAnAuditLog { .. }), "{err}");
}

fn schema_version(pg: &PgLog) -> String {
    pg.client()
        .query_one(
            &format!(
                "SELECT value FROM {}_meta WHERE key = 'schema_version'",
                pg.name
            ),
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn postgres_log_round_trips_the_context_and_names_a_tampered_upstream() {
    let pg = PgLog::new("context");
    let key = AuditKey::from_bytes([6; 32]);
    let log = pg.open(&key);
    log.append(&entry(1)).unwrap();
    log.append(&entry_with_context(2)).unwrap();
    drop(log);
    let mut reader = AuditReader::open_postgres(URL, &pg.name).unwrap();
    let records = reader.tail(2).unwrap();
    assert_eq!(records[0].context, AuditContext::default());
    assert_eq!(records[1].context, github_context());
    assert_eq!(reader.session("s-2").unwrap()[0].context, github_context());
    assert!(reader.verify(Some(&key)).unwrap().is_intact());

    pg.client()
        .execute(
            &format!(
                "UPDATE {}_records SET context = replace(context, 'github', 'gitlab') \
                 WHERE sequence = 2",
                pg.name
            ),
            &[],
        )
        .unwrap();
    let problem = reader.verify(Some(&key)).unwrap().problem.unwrap();
    assert_eq!((problem.sequence, problem.kind), (2, TamperKind::Altered));
}

#[test]
fn a_schema_1_postgres_log_verifies_as_it_is_and_the_writer_migrates_it() {
    let pg = PgLog::new("schema1");
    let key = AuditKey::from_bytes([7; 32]);
    let log = pg.open(&key);
    for i in 1..=3 {
        log.append(&entry(i)).unwrap();
    }
    drop(log);
    // What an airlock before contexts wrote: no context column, schema version 1.
    pg.client()
        .batch_execute(&format!(
            "ALTER TABLE {0}_records DROP COLUMN context;
             UPDATE {0}_meta SET value = '1' WHERE key = 'schema_version';",
            pg.name
        ))
        .unwrap();
    let mut reader = AuditReader::open_postgres(URL, &pg.name).unwrap();
    let before = reader.tail(3).unwrap();
    assert!(reader.verify(Some(&key)).unwrap().is_intact());
    assert_eq!(schema_version(&pg), "1", "a reader changes nothing");

    let log = pg.open(&key);
    assert_eq!(schema_version(&pg), "2");
    log.append(&entry_with_context(4)).unwrap();
    drop(log);
    // The reader opened on schema 1 notices the migration and reads the new column.
    let after = reader.tail(4).unwrap();
    assert_eq!(after[..3], before[..]);
    assert_eq!(after[3].context, github_context());
    let report = reader.verify(Some(&key)).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 4);
}

/// The client's own display of a server error is "db error"; the operator needs the server's
/// message to know what to fix.
#[test]
fn a_database_error_says_what_the_server_said() {
    let url = "host=127.0.0.1 port=5432 user=postgres dbname=airlock_no_such_database";
    let err = AuditReader::open_postgres(url, "airlock_audit").unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("connecting to PostgreSQL")
            && message.contains("\"airlock_no_such_database\" does not exist")
            && message.contains("SQLSTATE 3D000"),
        "{message}"
    );
}
