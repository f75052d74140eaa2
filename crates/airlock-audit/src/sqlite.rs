//! The SQLite store: one file in WAL mode with `synchronous=FULL` (or NORMAL when configured
//! for process-crash durability only), so a committed transaction
//! has been fsynced to the WAL before `COMMIT` returns. Group commit amortises that fsync over
//! every record in the batch.
//!
//! Checkpoints (copying the WAL back into the database file, with an fsync) run on a thread of
//! their own with its own connection, a few times a second while records arrive, instead of
//! inside whichever append happens to cross SQLite's auto-checkpoint size: that append would
//! wait for the copy and the fsync (the slowest appends of a busy gateway, before). SQLite's
//! own auto-checkpoint stays on at a larger size, in case the thread falls behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};

use crate::AuditError;
use crate::config::Durability;
use crate::record::StoredRecord;
use crate::store::{
    AuditStore, ChainBatch, ChainedBatch, FORMAT, SCHEMA_VERSION, Schema, SignedHead, check_format,
};

// STRICT tables: a hand edit cannot slip text into an integer column and make the reader
// guess. `sequence` is the rowid, so records come back in chain order by construction.
const SCHEMA: &str = "
CREATE TABLE audit_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE audit_records (
    sequence INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    session TEXT,
    principal TEXT NOT NULL,
    event_kind TEXT NOT NULL,
    tool TEXT,
    arguments TEXT NOT NULL,
    arguments_fingerprint TEXT NOT NULL,
    findings TEXT NOT NULL,
    decision TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    context TEXT
) STRICT;
CREATE INDEX audit_records_by_session ON audit_records (session, sequence);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sequence INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL
) STRICT;
";

// `context` last, where `ALTER TABLE … ADD COLUMN` puts it in a log migrated from schema 1.
const COLUMNS: &str = "sequence, time, session, principal, event_kind, tool, arguments, \
                       arguments_fingerprint, findings, decision, prev_hash, hash, context";
/// What a schema 1 log is read with: the same columns, every record without a context.
const COLUMNS_V1: &str = "sequence, time, session, principal, event_kind, tool, arguments, \
                          arguments_fingerprint, findings, decision, prev_hash, hash, \
                          NULL AS context";

/// Schema 1 → 2: records gain a nullable `context`. Existing records keep NULL there, which
/// is how a record without a context is stored, so their hashes still verify unchanged.
const MIGRATE_V1_TO_V2: &str = "
ALTER TABLE audit_records ADD COLUMN context TEXT;
UPDATE audit_meta SET value = '2' WHERE key = 'schema_version';
";

fn columns(schema: Schema) -> &'static str {
    if schema.has_context() {
        COLUMNS
    } else {
        COLUMNS_V1
    }
}

/// How often the checkpointer looks for new commits to copy into the database.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);
/// WAL pages after which a commit checkpoints in the appender's own thread, should the
/// checkpointer fall this far behind (SQLite's default is 1,000).
const BACKSTOP_CHECKPOINT_PAGES: i64 = 10_000;

/// An audit log in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    /// Declared before `conn`, so it stops (after a last checkpoint) before the writing
    /// connection closes.
    checkpointer: Option<Checkpointer>,
    path: PathBuf,
    conn: Connection,
    /// The layout as last read. Only a reader can see an older one (a writer migrates the log
    /// when it opens it); it reads the version again until it sees the current one.
    schema: Schema,
    /// How durable a commit is; `None` for a read-only connection.
    durability: Option<Durability>,
}

impl SqliteStore {
    /// Opens the log at `path` for writing, creating the directory, the file and the schema
    /// when absent. A new log records `key_id`; an existing one must have been created with
    /// the same key.
    pub fn open(path: &Path, key_id: &str) -> Result<SqliteStore, AuditError> {
        SqliteStore::open_with(path, key_id, Durability::PowerLoss)
    }

    /// [`SqliteStore::open`] with a chosen durability.
    pub fn open_with(
        path: &Path,
        key_id: &str,
        durability: Durability,
    ) -> Result<SqliteStore, AuditError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| AuditError::Io {
                action: "create directory",
                path: parent.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(AuditError::sqlite("opening the database"))?;
        let mut store = SqliteStore {
            checkpointer: None,
            path: path.to_owned(),
            conn,
            schema: Schema::CURRENT,
            durability: None,
        };
        store.configure(Some(durability))?;
        store.initialise(key_id)?;
        let stored = store.key_id()?;
        if stored != key_id {
            return Err(AuditError::KeyMismatch {
                expected: stored,
                given: key_id.to_owned(),
            });
        }
        store.checkpointer = Some(Checkpointer::start(path)?);
        Ok(store)
    }

    /// Opens an existing log for reading only. Never creates anything; a missing file or a
    /// database that is not an audit log is an error.
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, AuditError> {
        if !path.is_file() {
            return Err(AuditError::NotFound {
                path: path.to_owned(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(AuditError::sqlite("opening the database"))?;
        let mut store = SqliteStore {
            checkpointer: None,
            path: path.to_owned(),
            conn,
            schema: Schema::CURRENT,
            durability: None,
        };
        store.configure(None)?;
        store.schema = read_schema(&store.conn, &store.path)?;
        Ok(store)
    }

    fn not_audit(&self, reason: impl Into<String>) -> AuditError {
        AuditError::NotAnAuditLog {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// Maps "file is not a database" to a clear error, everything else to `Sqlite`.
    fn classify(&self, action: &'static str, err: rusqlite::Error) -> AuditError {
        if let rusqlite::Error::SqliteFailure(code, _) = &err
            && code.code == rusqlite::ErrorCode::NotADatabase
        {
            return self.not_audit("it is not a SQLite database");
        }
        AuditError::Sqlite {
            action,
            source: err,
        }
    }

    /// `writer`: the durability of a writing connection; `None` for a reader.
    fn configure(&mut self, writer: Option<Durability>) -> Result<(), AuditError> {
        self.conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(AuditError::sqlite("setting the busy timeout"))?;
        if let Some(durability) = writer {
            let mode: String = self
                .conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                .map_err(|err| self.classify("switching to WAL mode", err))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(self.not_audit(format!("cannot use WAL mode (journal mode {mode})")));
            }
            // FULL: the WAL is fsynced at every commit, so an acknowledged append survives
            // power loss. NORMAL (in WAL mode) hands each commit to the OS and fsyncs at
            // checkpoints: it survives a killed process, not a power cut.
            let level = match durability {
                Durability::PowerLoss => "FULL",
                Durability::ProcessCrash => "NORMAL",
            };
            self.conn
                .pragma_update(None, "synchronous", level)
                .map_err(AuditError::sqlite("setting the synchronous level"))?;
            self.conn
                .pragma_update(None, "wal_autocheckpoint", BACKSTOP_CHECKPOINT_PAGES)
                .map_err(AuditError::sqlite("setting the checkpoint size"))?;
        }
        self.durability = writer;
        Ok(())
    }

    /// Creates the schema in an empty file, or checks an existing log's format and brings a
    /// schema 1 log up to the current one, under the write lock so that two writers opening
    /// the same old log cannot both migrate it.
    fn initialise(&mut self, key_id: &str) -> Result<(), AuditError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| classify_with(&path, "starting a transaction", err))?;
        let tables: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(|err| classify_with(&path, "reading the schema", err))?;
        if tables == 0 {
            tx.execute_batch(SCHEMA)
                .map_err(AuditError::sqlite("creating the schema"))?;
            for (key, value) in [
                ("format", FORMAT),
                ("schema_version", SCHEMA_VERSION),
                ("key_id", key_id),
            ] {
                tx.execute(
                    "INSERT INTO audit_meta (key, value) VALUES (?1, ?2)",
                    params![key, value],
                )
                .map_err(AuditError::sqlite("writing metadata"))?;
            }
            tx.commit()
                .map_err(AuditError::sqlite("committing the schema"))?;
            self.schema = Schema::CURRENT;
            return Ok(());
        }
        match read_schema(&tx, &path)? {
            Schema::V1 => {
                tx.execute_batch(MIGRATE_V1_TO_V2)
                    .map_err(AuditError::sqlite("migrating the log to schema version 2"))?;
                tx.commit()
                    .map_err(AuditError::sqlite("committing the schema migration"))?;
            }
            Schema::V2 => drop(tx),
        }
        self.schema = Schema::CURRENT;
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, AuditError> {
        read_meta(&self.conn, &self.path, key)
    }

    /// A read transaction and the columns to read with inside it. A reader that last saw an
    /// older schema reads the version again in the same snapshot as the records, so a writer
    /// migrating the log meanwhile cannot make it read new records without their context.
    fn begin_read(&mut self) -> Result<(rusqlite::Transaction<'_>, &'static str), AuditError> {
        let tx = self
            .conn
            .transaction()
            .map_err(AuditError::sqlite("starting a read"))?;
        if self.schema != Schema::CURRENT {
            self.schema = read_schema(&tx, &self.path)?;
        }
        Ok((tx, columns(self.schema)))
    }

    /// Runs the query `sql` builds from the record columns to select, in one read.
    fn query_records(
        &mut self,
        sql: impl FnOnce(&str) -> String,
        params: impl rusqlite::Params,
    ) -> Result<Vec<StoredRecord>, AuditError> {
        let (tx, columns) = self.begin_read()?;
        let sql = sql(columns);
        let mut records = Vec::new();
        {
            let mut statement = tx
                .prepare_cached(&sql)
                .map_err(AuditError::sqlite("preparing a query"))?;
            let rows = statement
                .query_map(params, read_row)
                .map_err(AuditError::sqlite("reading records"))?;
            for row in rows {
                records.push(row.map_err(AuditError::sqlite("reading a record"))??);
            }
        }
        tx.finish().map_err(AuditError::sqlite("ending a read"))?;
        Ok(records)
    }
}

/// The schema of the log behind `conn`, or why it is not a log this build reads.
fn read_schema(conn: &Connection, path: &Path) -> Result<Schema, AuditError> {
    let format = read_meta(conn, path, "format")?;
    let version = read_meta(conn, path, "schema_version")?;
    check_format(format.as_deref(), version.as_deref()).map_err(|reason| {
        AuditError::NotAnAuditLog {
            path: path.to_owned(),
            reason,
        }
    })
}

fn read_meta(conn: &Connection, path: &Path, key: &str) -> Result<Option<String>, AuditError> {
    conn.query_row(
        "SELECT value FROM audit_meta WHERE key = ?1",
        [key],
        |row| row.get(0),
    )
    .optional()
    .map_err(|err| {
        if err.to_string().contains("no such table") {
            AuditError::NotAnAuditLog {
                path: path.to_owned(),
                reason: "it has no audit_meta table".into(),
            }
        } else {
            classify_with(path, "reading metadata", err)
        }
    })
}

fn classify_with(path: &Path, action: &'static str, err: rusqlite::Error) -> AuditError {
    if let rusqlite::Error::SqliteFailure(code, _) = &err
        && code.code == rusqlite::ErrorCode::NotADatabase
    {
        return AuditError::NotAnAuditLog {
            path: path.to_owned(),
            reason: "it is not a SQLite database".into(),
        };
    }
    AuditError::Sqlite {
        action,
        source: err,
    }
}

/// One row as a record; the inner error is a value that does not fit (negative sequence).
fn read_row(row: &Row<'_>) -> rusqlite::Result<Result<StoredRecord, AuditError>> {
    let sequence: i64 = row.get(0)?;
    let Ok(sequence) = u64::try_from(sequence) else {
        return Ok(Err(AuditError::Corrupt {
            sequence: 0,
            reason: format!("negative sequence number {sequence}"),
        }));
    };
    Ok(Ok(StoredRecord {
        sequence,
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
    }))
}

fn to_i64(value: u64) -> Result<i64, AuditError> {
    i64::try_from(value).map_err(|_| AuditError::AppendFailed("sequence number overflow".into()))
}

impl AuditStore for SqliteStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn key_id(&mut self) -> Result<String, AuditError> {
        self.meta("key_id")?
            .ok_or_else(|| self.not_audit("it records no key id"))
    }

    fn head(&mut self) -> Result<Option<SignedHead>, AuditError> {
        read_head(&self.conn)
    }

    fn last_record(&mut self) -> Result<Option<StoredRecord>, AuditError> {
        Ok(self
            .query_records(
                |columns| {
                    format!("SELECT {columns} FROM audit_records ORDER BY sequence DESC LIMIT 1")
                },
                [],
            )?
            .pop())
    }

    fn append_batch(&mut self, chain: &mut ChainBatch<'_>) -> Result<ChainedBatch, AuditError> {
        // IMMEDIATE takes the write lock first, so the head read below stays the end of the
        // chain until this commits, whichever process writes next.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(AuditError::sqlite("starting a batch"))?;
        let batch = chain(read_head(&tx)?)?;
        {
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO audit_records ({COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ))
                .map_err(AuditError::sqlite("preparing the insert"))?;
            for record in &batch.records {
                insert
                    .execute(params![
                        to_i64(record.sequence)?,
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
                        record.context,
                    ])
                    .map_err(AuditError::sqlite("inserting a record"))?;
            }
            let head = &batch.head;
            let head_sequence = to_i64(head.sequence)?;
            tx.prepare_cached(
                "INSERT INTO audit_head (id, sequence, hash, mac) VALUES (1, ?1, ?2, ?3) \
                 ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, \
                 hash = excluded.hash, mac = excluded.mac",
            )
            .and_then(|mut update| update.execute(params![head_sequence, head.hash, head.mac]))
            .map_err(AuditError::sqlite("updating the head"))?;
        }
        tx.commit()
            .map_err(AuditError::sqlite("committing a batch"))?;
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.commits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(batch)
    }

    /// In WAL mode with `synchronous=NORMAL` a commit is a write to the OS, no fsync (the
    /// WAL is fsynced at checkpoints).
    fn commits_without_waiting(&self) -> bool {
        self.durability == Some(Durability::ProcessCrash)
    }

    fn scan(
        &mut self,
        visit: &mut dyn FnMut(Result<StoredRecord, AuditError>) -> bool,
    ) -> Result<Option<SignedHead>, AuditError> {
        // One read transaction: the head and the records come from the same snapshot even
        // while a writer keeps appending.
        let (tx, columns) = self.begin_read()?;
        let head = read_head(&tx)?;
        let mut statement = tx
            .prepare(&format!(
                "SELECT {columns} FROM audit_records ORDER BY sequence"
            ))
            .map_err(AuditError::sqlite("preparing a scan"))?;
        let mut rows = statement
            .query([])
            .map_err(AuditError::sqlite("scanning records"))?;
        loop {
            let row = match rows.next() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(err) => return Err(AuditError::sqlite("scanning records")(err)),
            };
            let record = match read_row(row) {
                Ok(record) => record,
                Err(err) => Err(AuditError::Corrupt {
                    sequence: row
                        .get::<_, i64>(0)
                        .ok()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                    reason: err.to_string(),
                }),
            };
            if !visit(record) {
                break;
            }
        }
        Ok(head)
    }

    fn tail(&mut self, n: usize) -> Result<Vec<StoredRecord>, AuditError> {
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        self.query_records(
            |columns| {
                format!(
                    "SELECT * FROM (SELECT {columns} FROM audit_records \
                     ORDER BY sequence DESC LIMIT ?1) ORDER BY sequence"
                )
            },
            [limit],
        )
    }

    fn session(&mut self, id: &str) -> Result<Vec<StoredRecord>, AuditError> {
        self.query_records(
            |columns| {
                format!("SELECT {columns} FROM audit_records WHERE session = ?1 ORDER BY sequence")
            },
            [id],
        )
    }
}

fn read_head(conn: &Connection) -> Result<Option<SignedHead>, AuditError> {
    // Cached: every batch reads the head.
    let row: Option<(i64, String, String)> = conn
        .prepare_cached("SELECT sequence, hash, mac FROM audit_head WHERE id = 1")
        .and_then(|mut statement| {
            statement
                .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()
        })
        .map_err(AuditError::sqlite("reading the head"))?;
    Ok(row.map(|(sequence, hash, mac)| SignedHead {
        sequence: u64::try_from(sequence).unwrap_or(0),
        hash,
        mac,
    }))
}

/// The thread that checkpoints the WAL of one writing connection (see the module docs).
#[derive(Debug)]
struct Checkpointer {
    /// Commits made by the writing connection; the thread checkpoints when it changed.
    commits: Arc<AtomicU64>,
    /// Dropping it tells the thread to make a last checkpoint and stop.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, AuditError> {
        let conn = Connection::open(path).map_err(AuditError::sqlite("opening the database"))?;
        conn.busy_timeout(Duration::from_secs(1))
            .map_err(AuditError::sqlite("setting the busy timeout"))?;
        let commits = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = mpsc::channel::<()>();
        let counted = Arc::clone(&commits);
        let shown = path.display().to_string();
        let thread = std::thread::Builder::new()
            .name("airlock-audit-checkpoint".into())
            .spawn(move || {
                let mut checkpointed = 0;
                loop {
                    let last_round = match stopped.recv_timeout(CHECKPOINT_INTERVAL) {
                        Err(RecvTimeoutError::Timeout) => false,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
                    };
                    let commits = counted.load(Ordering::Relaxed);
                    if commits != checkpointed {
                        // PASSIVE: copies what no reader still needs, never waits for a writer.
                        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                            Ok(()) => checkpointed = commits,
                            Err(err) => tracing::warn!(
                                log = %shown,
                                "audit log checkpoint failed, retrying shortly: {err}"
                            ),
                        }
                    }
                    if last_round {
                        return;
                    }
                }
            })
            .map_err(|source| AuditError::Io {
                action: "start the checkpoint thread for",
                path: path.to_owned(),
                source,
            })?;
        Ok(Checkpointer {
            commits,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod durability_tests {
    use super::*;

    fn synchronous_level(store: &SqliteStore) -> i64 {
        store
            .conn
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn power_loss_durability_fsyncs_every_commit_and_process_crash_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let full = SqliteStore::open(&dir.path().join("a.db"), "k").unwrap();
        assert_eq!(synchronous_level(&full), 2, "FULL");
        let normal =
            SqliteStore::open_with(&dir.path().join("b.db"), "k", Durability::ProcessCrash)
                .unwrap();
        assert_eq!(synchronous_level(&normal), 1, "NORMAL");
    }
}
