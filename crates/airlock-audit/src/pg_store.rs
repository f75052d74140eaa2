//! The PostgreSQL store, for fleets: gateway instances write chains (a log name each, or one
//! shared) into a shared database, and auditors verify and export them from anywhere.
//!
//! Durability: each batch is one transaction committed with `synchronous_commit = on`, so the
//! server has flushed its WAL before `COMMIT` returns. Each batch locks the head table and
//! continues the chain from the head, so instances that share a log name interleave into one
//! chain (waiting for each other's commits) instead of forking it.

use postgres::types::ToSql;
use postgres::{Client, GenericClient, IsolationLevel, NoTls, Row};

use crate::AuditError;
use crate::record::StoredRecord;
use crate::store::{
    AuditStore, ChainBatch, ChainedBatch, FORMAT, SCHEMA_VERSION, Schema, SignedHead, check_format,
};

// `context` last, where `ALTER TABLE … ADD COLUMN` puts it in a log migrated from schema 1.
const COLUMNS: &str = "sequence, time, session, principal, event_kind, tool, arguments, \
                       arguments_fingerprint, findings, decision, prev_hash, hash, context";
/// What a schema 1 log is read with: the same columns, every record without a context.
const COLUMNS_V1: &str = "sequence, time, session, principal, event_kind, tool, arguments, \
                          arguments_fingerprint, findings, decision, prev_hash, hash, \
                          NULL::TEXT AS context";

fn columns(schema: Schema) -> &'static str {
    if schema.has_context() {
        COLUMNS
    } else {
        COLUMNS_V1
    }
}

const SCAN_CHUNK: i32 = 1000;

/// An audit log in three PostgreSQL tables named `<name>_records`, `<name>_head` and
/// `<name>_meta`.
pub struct PostgresStore {
    client: Client,
    name: String,
    /// The layout as last read. Only a reader can see an older one (a writer migrates the log
    /// when it connects); it reads the version again until it sees the current one.
    schema: Schema,
}

impl std::fmt::Debug for PostgresStore {
    // The connection string may hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("name", &self.name)
            .finish()
    }
}

fn pg(action: &'static str) -> impl FnOnce(postgres::Error) -> AuditError {
    move |source| AuditError::Postgres { action, source }
}

/// Log names become table-name prefixes, so they are restricted to what needs no quoting.
pub fn validate_log_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if !first_ok
        || name.len() > 48
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "log name `{name}` must be 1 to 48 characters of a-z, 0-9 and _, not starting with a digit"
        ));
    }
    Ok(())
}

impl PostgresStore {
    /// Connects for writing, creating the tables when absent. A new log records `key_id`; an
    /// existing one must have been created with the same key.
    pub fn connect(url: &str, name: &str, key_id: &str) -> Result<PostgresStore, AuditError> {
        let mut store = PostgresStore::connect_raw(url, name)?;
        let (records, head, meta) = store.tables();
        store
            .client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {meta} (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS {records} (
                     sequence BIGINT PRIMARY KEY,
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
                     context TEXT);
                 CREATE INDEX IF NOT EXISTS {records}_by_session ON {records} (session, sequence);
                 CREATE TABLE IF NOT EXISTS {head} (
                     id INTEGER PRIMARY KEY CHECK (id = 1),
                     sequence BIGINT NOT NULL,
                     hash TEXT NOT NULL,
                     mac TEXT NOT NULL);"
            ))
            .map_err(pg("creating the audit tables"))?;
        for (key, value) in [
            ("format", FORMAT),
            ("schema_version", SCHEMA_VERSION),
            ("key_id", key_id),
        ] {
            store
                .client
                .execute(
                    &format!(
                        "INSERT INTO {meta} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
                    ),
                    &[&key, &value],
                )
                .map_err(pg("writing metadata"))?;
        }
        if store.check_format()? == Schema::V1 {
            store.migrate_v1()?;
        }
        let stored = store.key_id()?;
        if stored != key_id {
            return Err(AuditError::KeyMismatch {
                expected: stored,
                given: key_id.to_owned(),
            });
        }
        Ok(store)
    }

    /// Connects to an existing log for reading; creates nothing.
    pub fn connect_read_only(url: &str, name: &str) -> Result<PostgresStore, AuditError> {
        let mut store = PostgresStore::connect_raw(url, name)?;
        store.schema = store.check_format()?;
        Ok(store)
    }

    fn connect_raw(url: &str, name: &str) -> Result<PostgresStore, AuditError> {
        validate_log_name(name).map_err(|reason| AuditError::Config(vec![reason]))?;
        let mut client = Client::connect(url, NoTls).map_err(pg("connecting to PostgreSQL"))?;
        // The server default, set anyway: an acknowledged append must survive a crash.
        client
            .batch_execute("SET synchronous_commit = on")
            .map_err(pg("setting synchronous_commit"))?;
        Ok(PostgresStore {
            client,
            name: name.to_owned(),
            schema: Schema::CURRENT,
        })
    }

    fn tables(&self) -> (String, String, String) {
        (
            format!("{}_records", self.name),
            format!("{}_head", self.name),
            format!("{}_meta", self.name),
        )
    }

    fn not_audit(&self, reason: impl Into<String>) -> AuditError {
        AuditError::NotAnAuditLog {
            path: self.location().into(),
            reason: reason.into(),
        }
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, AuditError> {
        let (_, _, meta) = self.tables();
        let exists: bool = self
            .client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&meta])
            .map_err(pg("looking for the audit tables"))?
            .get(0);
        if !exists {
            return Err(self.not_audit(format!("there is no table `{meta}`")));
        }
        let row = self
            .client
            .query_opt(&format!("SELECT value FROM {meta} WHERE key = $1"), &[&key])
            .map_err(pg("reading metadata"))?;
        Ok(row.map(|row| row.get(0)))
    }

    fn check_format(&mut self) -> Result<Schema, AuditError> {
        let format = self.meta("format")?;
        let version = self.meta("schema_version")?;
        check_format(format.as_deref(), version.as_deref()).map_err(|reason| self.not_audit(reason))
    }

    /// Schema 1 → 2: records gain a nullable `context`. Existing records keep NULL there,
    /// which is how a record without a context is stored, so their hashes verify unchanged.
    /// The version row is locked first, so two writers connecting at once migrate once.
    fn migrate_v1(&mut self) -> Result<(), AuditError> {
        let (records, _, meta) = self.tables();
        let mut tx = self
            .client
            .transaction()
            .map_err(pg("starting the schema migration"))?;
        let version: Option<String> = tx
            .query_opt(
                &format!("SELECT value FROM {meta} WHERE key = 'schema_version' FOR UPDATE"),
                &[],
            )
            .map_err(pg("locking the schema version"))?
            .map(|row| row.get(0));
        if version.as_deref() == Some("1") {
            tx.batch_execute(&format!(
                "ALTER TABLE {records} ADD COLUMN IF NOT EXISTS context TEXT;
                 UPDATE {meta} SET value = '2' WHERE key = 'schema_version';"
            ))
            .map_err(pg("migrating the log to schema version 2"))?;
        }
        tx.commit().map_err(pg("committing the schema migration"))?;
        self.schema = self.check_format()?;
        Ok(())
    }

    /// Runs the query `sql` builds from the record columns to select, in one snapshot.
    fn records(
        &mut self,
        sql: impl FnOnce(&str) -> String,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<StoredRecord>, AuditError> {
        let (_, _, meta) = self.tables();
        let location = self.location();
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg("starting a read"))?;
        if self.schema != Schema::CURRENT {
            self.schema = read_schema(&mut tx, &meta, &location)?;
        }
        let sql = sql(columns(self.schema));
        let rows = tx.query(&sql, params).map_err(pg("reading records"))?;
        tx.commit().map_err(pg("ending a read"))?;
        rows.iter().map(read_row).collect()
    }
}

/// The schema of the log whose metadata table is `meta`, read through `client` (a
/// transaction, so that it belongs to the same snapshot as the records read next).
fn read_schema(
    client: &mut impl GenericClient,
    meta: &str,
    location: &str,
) -> Result<Schema, AuditError> {
    let mut value = |key: &str| -> Result<Option<String>, AuditError> {
        Ok(client
            .query_opt(&format!("SELECT value FROM {meta} WHERE key = $1"), &[&key])
            .map_err(pg("reading metadata"))?
            .map(|row| row.get(0)))
    };
    let format = value("format")?;
    let version = value("schema_version")?;
    check_format(format.as_deref(), version.as_deref()).map_err(|reason| {
        AuditError::NotAnAuditLog {
            path: location.into(),
            reason,
        }
    })
}

fn read_row(row: &Row) -> Result<StoredRecord, AuditError> {
    let sequence: i64 = row.try_get(0).map_err(pg("reading a record"))?;
    let corrupt = |reason: String| AuditError::Corrupt {
        sequence: u64::try_from(sequence).unwrap_or(0),
        reason,
    };
    let sequence = u64::try_from(sequence)
        .map_err(|_| corrupt(format!("negative sequence number {sequence}")))?;
    let text = |index: usize| -> Result<String, AuditError> {
        row.try_get(index).map_err(|err| corrupt(err.to_string()))
    };
    let optional = |index: usize| -> Result<Option<String>, AuditError> {
        row.try_get(index).map_err(|err| corrupt(err.to_string()))
    };
    Ok(StoredRecord {
        sequence,
        time: text(1)?,
        session: optional(2)?,
        principal: text(3)?,
        event_kind: text(4)?,
        tool: optional(5)?,
        arguments: text(6)?,
        arguments_fingerprint: text(7)?,
        findings: text(8)?,
        decision: text(9)?,
        prev_hash: text(10)?,
        hash: text(11)?,
        context: optional(12)?,
    })
}

/// The log's signed head; `None` before its first batch.
fn read_head(
    client: &mut impl GenericClient,
    head_table: &str,
) -> Result<Option<SignedHead>, AuditError> {
    let row = client
        .query_opt(
            &format!("SELECT sequence, hash, mac FROM {head_table} WHERE id = 1"),
            &[],
        )
        .map_err(pg("reading the head"))?;
    Ok(row.map(|row| SignedHead {
        sequence: u64::try_from(row.get::<_, i64>(0)).unwrap_or(0),
        hash: row.get(1),
        mac: row.get(2),
    }))
}

fn to_i64(value: u64) -> Result<i64, AuditError> {
    i64::try_from(value).map_err(|_| AuditError::AppendFailed("sequence number overflow".into()))
}

impl AuditStore for PostgresStore {
    fn location(&self) -> String {
        format!("postgres log `{}`", self.name)
    }

    fn key_id(&mut self) -> Result<String, AuditError> {
        self.meta("key_id")?
            .ok_or_else(|| self.not_audit("it records no key id"))
    }

    fn head(&mut self) -> Result<Option<SignedHead>, AuditError> {
        let (_, head_table, _) = self.tables();
        read_head(&mut self.client, &head_table)
    }

    fn last_record(&mut self) -> Result<Option<StoredRecord>, AuditError> {
        let (records, _, _) = self.tables();
        Ok(self
            .records(
                |columns| format!("SELECT {columns} FROM {records} ORDER BY sequence DESC LIMIT 1"),
                &[],
            )?
            .pop())
    }

    fn append_batch(&mut self, chain: &mut ChainBatch<'_>) -> Result<ChainedBatch, AuditError> {
        let (records, head_table, _) = self.tables();
        let mut tx = self.client.transaction().map_err(pg("starting a batch"))?;
        // Writers of this log take turns here: the mode excludes itself (and every writer)
        // but not readers. A lock on the head row would not do: the log's first batch has no
        // row to lock, and mixing row and table locks between writers deadlocks.
        tx.batch_execute(&format!(
            "LOCK TABLE {head_table} IN SHARE ROW EXCLUSIVE MODE"
        ))
        .map_err(pg("locking the head"))?;
        // Read after the lock: under READ COMMITTED each statement sees what was committed
        // when it started, so this sees the batch that held the lock before.
        let current = read_head(&mut tx, &head_table)?;
        let chained = chain(current)?;
        let (batch, head) = (&chained.records, &chained.head);
        // One statement per batch: arrays of columns, unnested into rows.
        let mut sequences = Vec::with_capacity(batch.len());
        for record in batch {
            sequences.push(to_i64(record.sequence)?);
        }
        let column =
            |get: fn(&StoredRecord) -> &str| -> Vec<&str> { batch.iter().map(get).collect() };
        let optional = |get: fn(&StoredRecord) -> Option<&str>| -> Vec<Option<&str>> {
            batch.iter().map(get).collect()
        };
        let times = column(|r| &r.time);
        let sessions = optional(|r| r.session.as_deref());
        let principals = column(|r| &r.principal);
        let kinds = column(|r| &r.event_kind);
        let tools = optional(|r| r.tool.as_deref());
        let arguments = column(|r| &r.arguments);
        let fingerprints = column(|r| &r.arguments_fingerprint);
        let findings = column(|r| &r.findings);
        let decisions = column(|r| &r.decision);
        let prevs = column(|r| &r.prev_hash);
        let hashes = column(|r| &r.hash);
        let contexts = optional(|r| r.context.as_deref());
        tx.execute(
            &format!(
                "INSERT INTO {records} ({COLUMNS}) SELECT * FROM UNNEST(\
                 $1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], \
                 $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[], \
                 $13::TEXT[])"
            ),
            &[
                &sequences,
                &times,
                &sessions,
                &principals,
                &kinds,
                &tools,
                &arguments,
                &fingerprints,
                &findings,
                &decisions,
                &prevs,
                &hashes,
                &contexts,
            ],
        )
        .map_err(pg("inserting records"))?;
        tx.execute(
            &format!(
                "INSERT INTO {head_table} (id, sequence, hash, mac) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET sequence = EXCLUDED.sequence, \
                 hash = EXCLUDED.hash, mac = EXCLUDED.mac"
            ),
            &[&to_i64(head.sequence)?, &head.hash, &head.mac],
        )
        .map_err(pg("updating the head"))?;
        tx.commit().map_err(pg("committing a batch"))?;
        Ok(chained)
    }

    fn scan(
        &mut self,
        visit: &mut dyn FnMut(Result<StoredRecord, AuditError>) -> bool,
    ) -> Result<Option<SignedHead>, AuditError> {
        let (records, head_table, meta) = self.tables();
        let location = self.location();
        // REPEATABLE READ: the head, the schema version and every record come from one
        // snapshot.
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg("starting a read"))?;
        let head = read_head(&mut tx, &head_table)?;
        if self.schema != Schema::CURRENT {
            self.schema = read_schema(&mut tx, &meta, &location)?;
        }
        let columns = columns(self.schema);
        let portal = tx
            .bind(
                &format!("SELECT {columns} FROM {records} ORDER BY sequence"),
                &[],
            )
            .map_err(pg("scanning records"))?;
        'chunks: loop {
            let rows = tx
                .query_portal(&portal, SCAN_CHUNK)
                .map_err(pg("scanning records"))?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                if !visit(read_row(row)) {
                    break 'chunks;
                }
            }
        }
        Ok(head)
    }

    fn tail(&mut self, n: usize) -> Result<Vec<StoredRecord>, AuditError> {
        let (records, _, _) = self.tables();
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        self.records(
            |columns| {
                format!(
                    "SELECT * FROM (SELECT {columns} FROM {records} \
                     ORDER BY sequence DESC LIMIT $1) AS last ORDER BY sequence"
                )
            },
            &[&limit],
        )
    }

    fn session(&mut self, id: &str) -> Result<Vec<StoredRecord>, AuditError> {
        let (records, _, _) = self.tables();
        self.records(
            |columns| {
                format!("SELECT {columns} FROM {records} WHERE session = $1 ORDER BY sequence")
            },
            &[&id],
        )
    }
}
