use crate::record::StoredRecord;
use crate::{AuditError, AuditKey};

const HEAD_DOMAIN: &[u8] = b"airlock-audit-head-v1\0";

/// The `format` metadata value every store writes when it creates a log.
pub(crate) const FORMAT: &str = "airlock-audit";
/// The `schema_version` metadata value this build writes and reads.
pub(crate) const SCHEMA_VERSION: &str = "1";

/// Why a store whose metadata says `format` and `schema_version` is not a log this build can
/// read, or `None` when it is. Shared by every store so that they refuse the same things.
pub(crate) fn format_problem(format: Option<&str>, schema_version: Option<&str>) -> Option<String> {
    match format {
        Some(FORMAT) => {}
        Some(other) => return Some(format!("its format is `{other}`")),
        None => return Some("it has no format marker".to_owned()),
    }
    match schema_version {
        Some(SCHEMA_VERSION) => None,
        other => Some(format!(
            "schema version {}, this airlock reads {SCHEMA_VERSION}",
            other.unwrap_or("missing")
        )),
    }
}

/// The last record's sequence number and hash, authenticated with the audit key. Stored in the
/// same transaction as the records, so it is always the true end of the chain unless someone
/// changed the database outside airlock. It is what lets `verify` notice a deleted last record
/// or a record appended by hand, which a plain hash chain cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHead {
    /// Sequence number of the last record (0 for an empty log).
    pub sequence: u64,
    /// Hash of the last record (the genesis hash for an empty log).
    pub hash: String,
    /// HMAC-SHA256 over the two, hex.
    pub mac: String,
}

impl SignedHead {
    /// The head for `sequence`/`hash`, signed with `key`.
    pub fn sign(key: &AuditKey, sequence: u64, hash: String) -> SignedHead {
        let mac = key.mac_hex(HEAD_DOMAIN, &[&sequence.to_be_bytes(), hash.as_bytes()]);
        SignedHead {
            sequence,
            hash,
            mac,
        }
    }

    /// Whether the MAC was made with `key` over these values.
    pub fn is_authentic(&self, key: &AuditKey) -> bool {
        key.verify_hex(
            HEAD_DOMAIN,
            &[&self.sequence.to_be_bytes(), self.hash.as_bytes()],
            &self.mac,
        )
    }
}

/// Where records live. One writer thread owns a store and calls [`AuditStore::append_batch`];
/// readers open their own. SQLite ([`crate::SqliteStore`]) is the embedded default; a fleet
/// backend (PostgreSQL) implements the same trait.
pub trait AuditStore: Send {
    /// The store's location for messages (a path, a table name).
    fn location(&self) -> String;

    /// The id of the key the log was created with.
    fn key_id(&mut self) -> Result<String, AuditError>;

    /// The stored head, if any record was ever written.
    fn head(&mut self) -> Result<Option<SignedHead>, AuditError>;

    /// The record with the highest sequence number.
    fn last_record(&mut self) -> Result<Option<StoredRecord>, AuditError>;

    /// Stores `records` (consecutive, already chained) and replaces the head with `head`, all
    /// or nothing. Must not return `Ok` before the batch is durable: a crash or power loss
    /// after it returns must not lose it.
    fn append_batch(
        &mut self,
        records: &[StoredRecord],
        head: &SignedHead,
    ) -> Result<(), AuditError>;

    /// Reads every record in ascending sequence order from one consistent snapshot, handing
    /// each to `visit` until it returns `false`, and returns the head as of that snapshot.
    /// A record that cannot be read is handed over as an error; the scan goes on.
    fn scan(
        &mut self,
        visit: &mut dyn FnMut(Result<StoredRecord, AuditError>) -> bool,
    ) -> Result<Option<SignedHead>, AuditError>;

    /// The last `n` records, oldest first.
    fn tail(&mut self, n: usize) -> Result<Vec<StoredRecord>, AuditError>;

    /// Every record of one session, oldest first.
    fn session(&mut self, id: &str) -> Result<Vec<StoredRecord>, AuditError>;
}
