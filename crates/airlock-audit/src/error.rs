use std::path::PathBuf;

/// Everything that can go wrong opening, writing or reading an audit log. Tampering found by
/// [`crate::AuditReader::verify`] is not an error: it is a [`crate::VerifyReport`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The database file does not exist (readers never create one).
    #[error("no audit database at `{path}`")]
    NotFound {
        /// The path that was given.
        path: PathBuf,
    },
    /// The file is a SQLite database but not an airlock audit log, or of an unknown version.
    #[error("`{path}` is not an airlock audit log: {reason}")]
    NotAnAuditLog {
        /// The path that was given.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// A directory or key file could not be created or read.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done, e.g. `create directory`.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The key file exists but does not hold 32 bytes as 64 hex digits.
    #[error("audit key file `{path}` is invalid: {reason}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The key given is not the one the log was created with: fingerprints and the signed head
    /// would not be comparable, so the log refuses to append.
    #[error(
        "the audit key does not match the one this log was created with (key id {expected}, given {given})"
    )]
    KeyMismatch {
        /// Key id stored in the log.
        expected: String,
        /// Key id of the key given.
        given: String,
    },
    /// The operating system could not supply random bytes for a new key.
    #[error("cannot generate an audit key: {0}")]
    Random(String),
    /// The stored chain does not end where its signed head says: the log was changed outside
    /// airlock (or a previous writer was not airlock). Appending would hide that.
    #[error(
        "the audit log at `{path}` fails its integrity check ({detail}); run `airlock audit verify` and start a new log"
    )]
    Tampered {
        /// The database.
        path: PathBuf,
        /// The first problem found.
        detail: String,
    },
    /// A SQLite call failed.
    #[error("audit database error while {action}: {source}")]
    Sqlite {
        /// What was being done, e.g. `committing a batch`.
        action: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A PostgreSQL call failed.
    #[error("audit database error while {action}: {}", postgres_detail(.source))]
    Postgres {
        /// What was being done.
        action: &'static str,
        /// The client's error.
        source: postgres::Error,
    },
    /// A batch could not be written; every append in it gets this error and none is stored.
    #[error("audit append failed, nothing was stored: {0}")]
    AppendFailed(String),
    /// A stored record cannot be decoded (invalid JSON in a column, a value out of range).
    #[error("audit record {sequence} cannot be read: {reason}")]
    Corrupt {
        /// The record's sequence number.
        sequence: u64,
        /// What is wrong.
        reason: String,
    },
    /// The writer thread has stopped (the log was closed, or it panicked).
    #[error("the audit log is closed")]
    Closed,
    /// A configuration value is invalid; every problem is listed with its path.
    #[error("invalid audit configuration:\n{}", .0.join("\n"))]
    Config(Vec<String>),
    /// Writing an export failed.
    #[error("cannot write export: {0}")]
    Export(std::io::Error),
}

impl AuditError {
    pub(crate) fn sqlite(action: &'static str) -> impl FnOnce(rusqlite::Error) -> AuditError {
        move |source| AuditError::Sqlite { action, source }
    }
}

/// The server's own message for a database error (`postgres::Error` displays only "db
/// error"), or the client's error with its cause, e.g. why a connection failed.
fn postgres_detail(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    match std::error::Error::source(error) {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_string(),
    }
}
