//! Appends per second: many threads appending at once (group commit: one fsync per batch),
//! a few threads keeping many appends in flight each, and one thread appending and waiting
//! for each record (one fsync per record). Every append is durable (WAL,
//! synchronous=FULL) before it is acknowledged in all three. Last, one thread appending one
//! at a time with `durability = "process_crash"` (no fsync): the fixed cost of an append.
//!
//! `cargo bench -p airlock-audit --bench append`

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use airlock_audit::{AuditConfig, AuditContext, AuditEntry, AuditLog, Durability};
use airlock_core::{Decision, EventKind, Principal};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

fn entry(n: u64) -> AuditEntry {
    let arguments = json!({"to": format!("user{n}@example.org"), "subject": "weekly report", "body": "see attached"});
    AuditEntry {
        session: Some(format!("session-{}", n % 64)),
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
        decision: Decision::deny("untrusted data may not leave by e-mail"),
        context: AuditContext::default(),
    }
}

fn open(name: &str, durability: Durability) -> (tempfile::TempDir, AuditLog) {
    // On the target directory's disk, not a tmpfs, so that fsync costs what it costs.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let log = AuditLog::open(&AuditConfig {
        durability,
        ..AuditConfig::at(dir.path().join(name))
    })
    .unwrap();
    (dir, log)
}

fn concurrent(log: &AuditLog, threads: u64, records: u64) -> Duration {
    let per_thread = records.div_ceil(threads);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let log = log.clone();
            scope.spawn(move || {
                for i in 0..per_thread {
                    log.append(&entry(t * per_thread + i)).unwrap();
                }
            });
        }
    });
    start.elapsed()
}

/// `threads` producers each keep all their appends in flight at once through `append_with`
/// (what an async server does with `append_async`), so batches fill up to `max_batch`.
fn pipelined(log: &AuditLog, threads: u64, records: u64) -> Duration {
    let per_thread = records.div_ceil(threads);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let log = log.clone();
            scope.spawn(move || {
                let (done, acked) = std::sync::mpsc::channel();
                for i in 0..per_thread {
                    let done = done.clone();
                    log.append_with(&entry(t * per_thread + i), move |result| {
                        let _ = done.send(result.is_ok());
                    });
                }
                for _ in 0..per_thread {
                    assert!(acked.recv().unwrap());
                }
            });
        }
    });
    start.elapsed()
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit_append");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(1));

    for threads in [64u64, 256] {
        let (_dir, log) = open("group.db", Durability::PowerLoss);
        group.bench_function(format!("group_commit_{threads}_threads"), |b| {
            b.iter_custom(|iters| concurrent(&log, threads, iters.max(threads)))
        });
    }

    let (_dir, log) = open("pipelined.db", Durability::PowerLoss);
    group.bench_function("pipelined_4_threads", |b| {
        b.iter_custom(|iters| pipelined(&log, 4, iters.max(4)))
    });

    for (name, durability) in [
        ("one_at_a_time", Durability::PowerLoss),
        ("one_at_a_time_process_crash", Durability::ProcessCrash),
    ] {
        let (_dir, log) = open("single.db", durability);
        group.bench_function(name, |b| {
            let mut n = 0;
            b.iter(|| {
                n += 1;
                log.append(&entry(n)).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
