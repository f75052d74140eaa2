use crate::record::StoredRecord;
use crate::{AuditError, AuditKey};

const HEAD_DOMAIN: &[u8] = b"airlock-audit-head-v1\0";

/// The `format` metadata value every store writes when it creates a log.
pub(crate) const FORMAT: &str = "airlock-audit";
/// The `schema_version` metadata value this build writes.
pub(crate) const SCHEMA_VERSION: &str = "2";

/// A stored layout this build can read. Every version keeps the records of the versions
/// before it verifiable as they are: a newer layout only adds what older records lack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schema {
    /// Records without a `context` column (airlock before upstream context was stored).
    /// Read as records with no context, which hash exactly as they were written.
    V1,
    /// Records with a nullable `context` column.
    V2,
}

impl Schema {
    /// The version this build writes; a writer brings an older log up to it when it opens it.
    pub(crate) const CURRENT: Schema = Schema::V2;

    /// Whether records have a `context` column.
    pub(crate) fn has_context(self) -> bool {
        match self {
            Schema::V1 => false,
            Schema::V2 => true,
        }
    }
}

/// The schema of a store whose metadata says `format` and `schema_version`, or why it is not
/// a log this build can read. Shared by every store so that they refuse the same things.
pub(crate) fn check_format(
    format: Option<&str>,
    schema_version: Option<&str>,
) -> Result<Schema, String> {
    match format {
        Some(FORMAT) => {}
        Some(other) => return Err(format!("its format is `{other}`")),
        None => return Err("it has no format marker".to_owned()),
    }
    match schema_version {
        Some("1") => Ok(Schema::V1),
        Some("2") => Ok(Schema::V2),
        Some(other) => Err(format!(
            "schema version {other}, this airlock reads 1 to {SCHEMA_VERSION}; \
             upgrade airlock to read it"
        )),
        None => Err("it has no schema version".to_owned()),
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

/// Records chained after a stored head, and the head that ends them.
#[derive(Debug)]
pub struct ChainedBatch {
    /// Consecutive records, the first chained to the head it was sealed after.
    pub records: Vec<StoredRecord>,
    /// The new head: the last record's sequence number and hash, signed.
    pub head: SignedHead,
}

/// Seals a batch after the stored head ([`AuditStore::append_batch`]).
pub type ChainBatch<'a> = dyn FnMut(Option<SignedHead>) -> Result<ChainedBatch, AuditError> + 'a;

/// Where records live. In one process, one writer at a time calls
/// [`AuditStore::append_batch`] (the log's writer thread, or an appender committing inline);
/// several processes may write the same log, each batch continuing from the stored head.
/// Readers open their own connection. SQLite
/// ([`crate::SqliteStore`]) is the embedded default; a fleet backend (PostgreSQL) implements
/// the same trait.
pub trait AuditStore: Send {
    /// The store's location for messages (a path, a table name).
    fn location(&self) -> String;

    /// The id of the key the log was created with.
    fn key_id(&mut self) -> Result<String, AuditError>;

    /// The stored head, if any record was ever written.
    fn head(&mut self) -> Result<Option<SignedHead>, AuditError>;

    /// The record with the highest sequence number.
    fn last_record(&mut self) -> Result<Option<StoredRecord>, AuditError>;

    /// Appends one batch after the stored end of the chain, all or nothing: inside its write
    /// transaction, with the head locked against every other writer of the same log (another
    /// process, even), hands the stored head (`None` for a log never written) to `chain`,
    /// stores the records it returns and replaces the head with the one it returns. An error
    /// from `chain` rolls the transaction back and is returned as it is. Must not return `Ok`
    /// before the batch is durable: a crash or power loss after it returns must not lose it.
    fn append_batch(&mut self, chain: &mut ChainBatch<'_>) -> Result<ChainedBatch, AuditError>;

    /// Whether [`AuditStore::append_batch`] returns without waiting for a disk flush or a
    /// network round trip, so that an appender may commit in its own thread (an async
    /// runtime's, even) rather than hand the record to the writer thread. Default `false`.
    fn commits_without_waiting(&self) -> bool {
        false
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_written_is_read_as_the_current_schema() {
        assert_eq!(
            check_format(Some(FORMAT), Some(SCHEMA_VERSION)),
            Ok(Schema::CURRENT)
        );
        assert_eq!(check_format(Some(FORMAT), Some("1")), Ok(Schema::V1));
    }

    #[test]
    fn foreign_formats_and_unknown_versions_are_refused_with_what_was_found() {
        let newer = check_format(Some(FORMAT), Some("3")).unwrap_err();
        assert!(newer.contains("schema version 3"), "{newer}");
        assert!(newer.contains("reads 1 to 2; upgrade airlock"), "{newer}");
        assert_eq!(
            check_format(Some(FORMAT), None),
            Err("it has no schema version".to_owned())
        );
        assert_eq!(
            check_format(Some("other"), Some("1")),
            Err("its format is `other`".to_owned())
        );
        assert_eq!(
            check_format(None, Some("1")),
            Err("it has no format marker".to_owned())
        );
    }
}
