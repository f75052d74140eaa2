//! kill -9 durability: a child process appends from several threads and prints each sequence
//! number the moment `append` returns; the parent kills it mid-stream with SIGKILL and checks
//! that every acknowledged record is in the reopened log and that the chain still verifies.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use airlock_audit::{AuditConfig, AuditLog, AuditReader, Durability};

use crate::{Fixture, entry};

const CHILD_DB: &str = "AIRLOCK_AUDIT_TEST_CHILD_DB";
/// `process_crash` to open the child's log with that durability; otherwise `power_loss`.
const CHILD_DURABILITY: &str = "AIRLOCK_AUDIT_TEST_CHILD_DURABILITY";
const CHILD_TEST: &str = "durability::child_appends_and_acknowledges_until_killed";
const ACKS_BEFORE_KILL: usize = 400;

/// The child half of `acknowledged_appends_survive_kill_9`; does nothing unless started by it.
#[test]
#[ignore = "run as a child process by acknowledged_appends_survive_kill_9"]
fn child_appends_and_acknowledges_until_killed() {
    let Some(db) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let durability = match std::env::var(CHILD_DURABILITY).as_deref() {
        Ok("process_crash") => Durability::ProcessCrash,
        _ => Durability::PowerLoss,
    };
    let log = AuditLog::open(&AuditConfig {
        durability,
        ..AuditConfig::at(db)
    })
    .unwrap();
    let threads: Vec<_> = (0..4u64)
        .map(|thread| {
            let log = log.clone();
            std::thread::spawn(move || {
                // Bounded, so an orphaned child stops by itself.
                for i in 0..20_000u64 {
                    let appended = log.append(&entry(thread * 100_000 + i)).unwrap();
                    let mut stdout = std::io::stdout().lock();
                    writeln!(stdout, "ack {}", appended.sequence).unwrap();
                    stdout.flush().unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn acknowledged_appends_survive_kill_9_power_loss() {
    acknowledged_appends_survive_kill_9("power_loss");
}

/// Appends committed inline in the appending thread (see `AuditLog`) are as durable against a
/// killed process as those the writer thread commits.
#[test]
fn acknowledged_appends_survive_kill_9_process_crash() {
    acknowledged_appends_survive_kill_9("process_crash");
}

fn acknowledged_appends_survive_kill_9(durability: &str) {
    let fixture = Fixture::new();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            CHILD_TEST,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &fixture.db)
        .env(CHILD_DURABILITY, durability)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acknowledged = BTreeSet::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(sequence) = line.strip_prefix("ack ") {
            acknowledged.insert(sequence.parse::<u64>().unwrap());
            if acknowledged.len() >= ACKS_BEFORE_KILL {
                break;
            }
        }
    }
    // Child::kill sends SIGKILL on Unix: no destructor, no flush, no orderly close.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        acknowledged.len(),
        ACKS_BEFORE_KILL,
        "the child stopped before acknowledging enough appends"
    );

    let mut reader = AuditReader::open(&fixture.db).unwrap();
    let report = reader.verify(Some(&fixture.key())).unwrap();
    assert!(report.is_intact(), "{report:?}");
    let mut stored = BTreeSet::new();
    reader
        .for_each(|record| {
            stored.insert(record.sequence);
            Ok(())
        })
        .unwrap();
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");

    // The writer resumes the chain after the crash.
    let log = fixture.open();
    let next = log.append(&entry(0)).unwrap();
    assert_eq!(next.sequence, report.last_sequence + 1);
    assert!(log.verify().unwrap().is_intact());
}

/// The WAL is copied back into the database by the checkpoint thread while records arrive,
/// not left to grow until an append crosses the size at which it would checkpoint inline.
/// 2,500 one-record commits write about 7,500 WAL pages (30 MB): with a checkpoint at each
/// pause, the WAL never holds more than the ~500 commits between two pauses.
#[test]
fn the_wal_is_checkpointed_in_the_background_while_records_arrive() {
    let fixture = Fixture::new();
    let log = AuditLog::open(&AuditConfig {
        durability: Durability::ProcessCrash,
        ..fixture.config()
    })
    .unwrap();
    for n in 1..=2_500u64 {
        log.append(&entry(n)).unwrap();
        if n % 500 == 0 {
            std::thread::sleep(std::time::Duration::from_millis(400));
        }
    }
    let wal = std::fs::metadata(fixture.db.with_extension("db-wal"))
        .unwrap()
        .len();
    assert!(wal < 12 << 20, "the WAL grew to {wal} bytes");
    assert!(log.verify().unwrap().is_intact());
}
