use std::fmt;

use serde::Serialize;

use crate::record::{GENESIS_HASH, StoredRecord};
use crate::store::{AuditStore, SignedHead};
use crate::{AuditError, AuditKey};

/// What kind of damage `verify` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TamperKind {
    /// The record's content no longer matches its hash: a field was edited.
    Altered,
    /// The record's `prev_hash` is not the previous record's hash: a record before it was
    /// inserted, deleted and renumbered around, or records were reordered.
    Unlinked,
    /// A sequence number is missing: the record was deleted.
    Missing,
    /// The chain ends before the signed head: the last records were deleted.
    Truncated,
    /// The chain goes on past the signed head: records were appended outside airlock.
    Extended,
    /// The record the head names has another hash: the chain was rewritten.
    HeadMismatch,
    /// The head's MAC is not valid under the audit key: the head was forged or edited.
    HeadForged,
    /// Records exist but the head is gone.
    HeadMissing,
    /// A record cannot be read back at all.
    Unreadable,
}

impl TamperKind {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TamperKind::Altered => "altered",
            TamperKind::Unlinked => "unlinked",
            TamperKind::Missing => "missing",
            TamperKind::Truncated => "truncated",
            TamperKind::Extended => "extended",
            TamperKind::HeadMismatch => "head_mismatch",
            TamperKind::HeadForged => "head_forged",
            TamperKind::HeadMissing => "head_missing",
            TamperKind::Unreadable => "unreadable",
        }
    }
}

/// The first problem in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tamper {
    /// The first sequence number that is wrong (for a deletion, the missing one).
    pub sequence: u64,
    /// What is wrong.
    pub kind: TamperKind,
    /// One line for a human.
    pub detail: String,
}

impl fmt::Display for Tamper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record {} {}: {}",
            self.sequence,
            self.kind.as_str(),
            self.detail
        )
    }
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Records read.
    pub records: u64,
    /// Sequence number of the last record that checked out (0 for an empty log).
    pub last_sequence: u64,
    /// Hash of that record (the genesis hash for an empty log). Copy it somewhere
    /// the database's writers cannot reach: a later `verify` that still reaches this hash at
    /// this sequence proves nothing before it was rewritten, even by a key holder.
    pub last_hash: String,
    /// Whether the head's MAC was checked with the audit key. Without the key, a deleted last
    /// record is still found when the head was left alone, but an edited head is not.
    pub head_authenticated: bool,
    /// The first problem found; `None` when the log is intact.
    pub problem: Option<Tamper>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// Walks every record of `store` once, in sequence order, from one snapshot.
pub(crate) fn verify_store(
    store: &mut dyn AuditStore,
    key: Option<&AuditKey>,
) -> Result<VerifyReport, AuditError> {
    let mut walk = Walk {
        expected: 1,
        prev_hash: GENESIS_HASH.to_owned(),
        records: 0,
        problem: None,
    };
    let head = store.scan(&mut |record| walk.visit(record))?;
    let mut report = VerifyReport {
        records: walk.records,
        last_sequence: walk.expected - 1,
        last_hash: walk.prev_hash.clone(),
        head_authenticated: key.is_some(),
        problem: walk.problem.take(),
    };
    if report.problem.is_none() {
        report.problem = check_head(head.as_ref(), key, &walk);
    }
    Ok(report)
}

struct Walk {
    expected: u64,
    prev_hash: String,
    records: u64,
    problem: Option<Tamper>,
}

impl Walk {
    fn visit(&mut self, record: Result<StoredRecord, AuditError>) -> bool {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                self.problem = Some(Tamper {
                    sequence: self.expected,
                    kind: TamperKind::Unreadable,
                    detail: err.to_string(),
                });
                return false;
            }
        };
        self.records += 1;
        let sequence = record.sequence;
        if sequence != self.expected {
            self.problem = Some(Tamper {
                sequence: self.expected,
                kind: TamperKind::Missing,
                detail: if sequence > self.expected + 1 {
                    format!(
                        "records {} to {} are missing (the next stored record is {sequence})",
                        self.expected,
                        sequence - 1
                    )
                } else {
                    format!("the record is missing (the next stored record is {sequence})")
                },
            });
            return false;
        }
        if record.prev_hash != self.prev_hash {
            self.problem = Some(Tamper {
                sequence,
                kind: TamperKind::Unlinked,
                detail: format!(
                    "its prev_hash is not the hash of record {}: a record was inserted or \
                     deleted before it, or records were reordered",
                    sequence - 1
                ),
            });
            return false;
        }
        let computed = record.compute_hash();
        if computed != record.hash {
            self.problem = Some(Tamper {
                sequence,
                kind: TamperKind::Altered,
                detail: "its content does not match its hash: a field was edited".to_owned(),
            });
            return false;
        }
        self.prev_hash = record.hash;
        self.expected += 1;
        true
    }
}

fn check_head(head: Option<&SignedHead>, key: Option<&AuditKey>, walk: &Walk) -> Option<Tamper> {
    let last = walk.expected - 1;
    let Some(head) = head else {
        return (last > 0).then(|| Tamper {
            sequence: 1,
            kind: TamperKind::HeadMissing,
            detail: "the log has records but no head: the head row was deleted".to_owned(),
        });
    };
    if let Some(key) = key
        && !head.is_authentic(key)
    {
        return Some(Tamper {
            sequence: head.sequence,
            kind: TamperKind::HeadForged,
            detail: "the head's MAC is not valid under the audit key: the head was edited"
                .to_owned(),
        });
    }
    if head.sequence > last {
        return Some(Tamper {
            sequence: last + 1,
            kind: TamperKind::Truncated,
            detail: format!(
                "the head says the log ends at record {} but the last stored record is {last}: \
                 records were deleted from the end",
                head.sequence
            ),
        });
    }
    if head.sequence < last {
        return Some(Tamper {
            sequence: head.sequence + 1,
            kind: TamperKind::Extended,
            detail: format!(
                "the head says the log ends at record {} but records go on to {last}: records \
                 were appended outside airlock",
                head.sequence
            ),
        });
    }
    // Here head.sequence == last, and the walk's prev_hash is the last record's hash (the
    // genesis hash for an empty log).
    (walk.prev_hash != head.hash).then(|| Tamper {
        sequence: head.sequence,
        kind: TamperKind::HeadMismatch,
        detail: "the record's hash is not the one the head signed: the chain was rewritten"
            .to_owned(),
    })
}
