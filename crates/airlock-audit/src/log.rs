use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;

use crate::config::{AuditConfig, Durability};
use crate::pg_store::PostgresStore;
use crate::record::{AuditEntry, AuditRecord, GENESIS_HASH, PendingRecord, StoredRecord};
use crate::sqlite::SqliteStore;
use crate::store::{AuditStore, ChainedBatch, SignedHead};
use crate::time::{format_rfc3339_millis, now_millis};
use crate::verify::{VerifyReport, verify_store};
use crate::{AuditError, AuditKey};

/// Where an appended record landed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendedRecord {
    /// Its sequence number.
    pub sequence: u64,
    /// Its hash.
    pub hash: String,
    /// The time stored with it.
    pub time: String,
}

type AckFn = Box<dyn FnOnce(Result<AppendedRecord, AuditError>) + Send>;

/// Calls its function exactly once: with the result, or with `Closed` if the writer dropped
/// the request without answering (it stopped or panicked), so no appender waits forever.
struct Ack(Option<AckFn>);

impl Ack {
    fn complete(mut self, result: Result<AppendedRecord, AuditError>) {
        if let Some(ack) = self.0.take() {
            ack(result);
        }
    }
}

impl Drop for Ack {
    fn drop(&mut self) {
        if let Some(ack) = self.0.take() {
            ack(Err(AuditError::Closed));
        }
    }
}

struct Request {
    record: PendingRecord,
    ack: Ack,
}

type ReaderOpener = Box<dyn Fn() -> Result<Box<dyn AuditStore>, AuditError> + Send + Sync>;

struct Inner {
    sender: Option<Sender<Request>>,
    writer_thread: Option<JoinHandle<()>>,
    /// The store and the end of the chain. The writer thread and inline appenders (see
    /// [`AuditLog::append_with`]) take turns holding it.
    writer: Arc<Mutex<Writer>>,
    /// Requests sent to the writer thread and not yet written.
    queued: Arc<AtomicUsize>,
    /// Whether an appender may commit in its own thread ([`AuditStore::commits_without_waiting`]).
    inline_commits: bool,
    key: AuditKey,
    location: String,
    open_reader: ReaderOpener,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish what is queued and stop.
        self.sender.take();
        if let Some(thread) = self.writer_thread.take() {
            let _ = thread.join();
        }
    }
}

/// The audit log: cheap to clone and share between threads. Appends go to one writer thread
/// that commits them in batches (group commit); each append returns once its batch is durable.
/// On a store whose commits do not wait for a disk or a network
/// ([`AuditStore::commits_without_waiting`]), an append that finds nobody writing commits in
/// its own thread instead, which saves the two thread wake-ups of a hand-off (most of the cost
/// of a lone append). Dropping the last clone stops the writer after it has written everything
/// queued.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("location", &self.inner.location)
            .field("key", &self.inner.key)
            .finish()
    }
}

impl AuditLog {
    /// Opens (or creates) the SQLite log `config` names, loading or creating its key, and
    /// starts the writer. Refuses a log whose stored end does not match its signed head.
    pub fn open(config: &AuditConfig) -> Result<AuditLog, AuditError> {
        let key = AuditKey::load_or_create(&config.key_file)?;
        match &config.postgres {
            Some(postgres) => {
                AuditLog::open_postgres(&postgres.url, &postgres.log, key, config.max_batch)
            }
            None => AuditLog::open_sqlite(&config.path, key, config.max_batch, config.durability),
        }
    }

    /// Opens (or creates) the PostgreSQL log `log` at `url`.
    pub fn open_postgres(
        url: &str,
        log: &str,
        key: AuditKey,
        max_batch: usize,
    ) -> Result<AuditLog, AuditError> {
        let store = PostgresStore::connect(url, log, &key.id())?;
        let (url, log) = (url.to_owned(), log.to_owned());
        AuditLog::start(
            Box::new(store),
            key,
            max_batch,
            Box::new(move || {
                PostgresStore::connect_read_only(&url, &log)
                    .map(|store| Box::new(store) as Box<dyn AuditStore>)
            }),
        )
    }

    /// Opens the SQLite log at `path` with a key the caller holds (e.g. from a secret store),
    /// durable against power loss.
    pub fn open_with_key(
        path: &Path,
        key: AuditKey,
        max_batch: usize,
    ) -> Result<AuditLog, AuditError> {
        AuditLog::open_sqlite(path, key, max_batch, Durability::PowerLoss)
    }

    /// Opens the SQLite log at `path` with a key the caller holds and a chosen durability.
    pub fn open_sqlite(
        path: &Path,
        key: AuditKey,
        max_batch: usize,
        durability: Durability,
    ) -> Result<AuditLog, AuditError> {
        let store = SqliteStore::open_with(path, &key.id(), durability)?;
        let reader_path: PathBuf = path.to_owned();
        AuditLog::start(
            Box::new(store),
            key,
            max_batch,
            Box::new(move || {
                SqliteStore::open_read_only(&reader_path)
                    .map(|store| Box::new(store) as Box<dyn AuditStore>)
            }),
        )
    }

    /// Starts a log on any store: `store` becomes the writer's, `open_reader` opens a second
    /// connection for `verify`, `tail` and `session`.
    pub fn start(
        mut store: Box<dyn AuditStore>,
        key: AuditKey,
        max_batch: usize,
        open_reader: ReaderOpener,
    ) -> Result<AuditLog, AuditError> {
        let stored_key = store.key_id()?;
        if stored_key != key.id() {
            return Err(AuditError::KeyMismatch {
                expected: stored_key,
                given: key.id(),
            });
        }
        let location = store.location();
        let (sequence, hash) = resume_point(store.as_mut(), &key)?;
        let inline_commits = store.commits_without_waiting();
        let (sender, receiver) = mpsc::channel();
        let writer = Arc::new(Mutex::new(Writer {
            store,
            location: location.clone(),
            key: key.clone(),
            sequence,
            hash,
            last_millis: 0,
        }));
        let queued = Arc::new(AtomicUsize::new(0));
        let thread = {
            let writer = Arc::clone(&writer);
            let queued = Arc::clone(&queued);
            let max_batch = max_batch.max(1);
            std::thread::Builder::new()
                .name("airlock-audit-writer".into())
                .spawn(move || write_queued(&writer, &queued, &receiver, max_batch))
                .map_err(|source| AuditError::Io {
                    action: "start the audit writer for",
                    path: PathBuf::from(&location),
                    source,
                })?
        };
        Ok(AuditLog {
            inner: Arc::new(Inner {
                sender: Some(sender),
                writer_thread: Some(thread),
                writer,
                queued,
                inline_commits,
                key,
                location,
                open_reader,
            }),
        })
    }

    /// Appends `entry` and blocks until it is durable, returning its place in the chain.
    /// From async code use [`AuditLog::append_async`], which does not block the runtime.
    pub fn append(&self, entry: &AuditEntry) -> Result<AppendedRecord, AuditError> {
        let (sender, receiver) = mpsc::sync_channel(1);
        self.append_with(entry, move |result| {
            let _ = sender.send(result);
        });
        receiver.recv().unwrap_or(Err(AuditError::Closed))
    }

    /// Appends `entry` and returns a future that resolves when it is durable. Works on any
    /// executor: the writer thread wakes the task, nothing blocks.
    pub fn append_async(&self, entry: &AuditEntry) -> AppendFuture {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let filled = Arc::clone(&slot);
        self.append_with(entry, move |result| {
            let mut slot = filled.lock().unwrap_or_else(PoisonError::into_inner);
            slot.result = Some(result);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        });
        AppendFuture { slot }
    }

    /// Appends `entry` and calls `ack` once it is durable (or failed): on the writer thread,
    /// or before this returns when the append was committed inline (see [`AuditLog`]). `ack`
    /// must be quick: the next batch waits for it.
    pub fn append_with(
        &self,
        entry: &AuditEntry,
        ack: impl FnOnce(Result<AppendedRecord, AuditError>) + Send + 'static,
    ) {
        let request = Request {
            record: PendingRecord::new(entry, &self.inner.key),
            ack: Ack(Some(Box::new(ack))),
        };
        let Some(request) = self.commit_inline(request) else {
            return;
        };
        self.inner.queued.fetch_add(1, Ordering::SeqCst);
        match &self.inner.sender {
            // A failed send hands the request back; dropping it answers `Closed`.
            Some(sender) => drop(sender.send(request)),
            None => drop(request),
        }
    }

    /// Commits `request` in this thread if the store allows it, nobody is writing and nothing
    /// handed to the writer thread is still unwritten (so one caller's appends keep their
    /// order); otherwise hands it back. A poisoned writer (a store panicked mid-commit) is
    /// never used: the request goes to the writer thread, which has stopped, and is answered
    /// `Closed`.
    fn commit_inline(&self, request: Request) -> Option<Request> {
        if !self.inner.inline_commits {
            return Some(request);
        }
        let Ok(mut writer) = self.inner.writer.try_lock() else {
            return Some(request);
        };
        if self.inner.queued.load(Ordering::SeqCst) != 0 {
            return Some(request);
        }
        writer.write(&mut vec![request]);
        None
    }

    /// Opens a separate read connection (see [`AuditReader`]).
    pub fn reader(&self) -> Result<AuditReader, AuditError> {
        Ok(AuditReader {
            store: (self.inner.open_reader)()?,
        })
    }

    /// Walks the whole chain and checks the signed head with this log's key.
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        self.reader()?.verify(Some(&self.inner.key))
    }

    /// The last `n` records, oldest first.
    pub fn tail(&self, n: usize) -> Result<Vec<AuditRecord>, AuditError> {
        self.reader()?.tail(n)
    }

    /// Every record of session `id`, oldest first.
    pub fn session(&self, id: &str) -> Result<Vec<AuditRecord>, AuditError> {
        self.reader()?.session(id)
    }

    /// The audit key (to fingerprint arguments for a lookup, or to hand to a verifier).
    pub fn key(&self) -> &AuditKey {
        &self.inner.key
    }
}

/// The chain position to continue from, after checking that the stored end is the signed one.
fn resume_point(store: &mut dyn AuditStore, key: &AuditKey) -> Result<(u64, String), AuditError> {
    let head = store.head()?;
    let last = store.last_record()?;
    let tampered = |detail: String| AuditError::Tampered {
        path: PathBuf::from(store_location(store)),
        detail,
    };
    match (head, last) {
        (None, None) => Ok((0, GENESIS_HASH.to_owned())),
        (Some(head), None) if head.sequence == 0 => Ok((0, GENESIS_HASH.to_owned())),
        (Some(head), None) => Err(tampered(format!(
            "the head names record {} but the log is empty",
            head.sequence
        ))),
        (None, Some(last)) => Err(tampered(format!(
            "records up to {} exist but the head is missing",
            last.sequence
        ))),
        (Some(head), Some(last)) => {
            if !head.is_authentic(key) {
                return Err(tampered(
                    "the head's MAC is not valid under the audit key".into(),
                ));
            }
            if head.sequence != last.sequence || head.hash != last.hash {
                return Err(tampered(format!(
                    "the head names record {} but the last stored record is {}",
                    head.sequence, last.sequence
                )));
            }
            if last.compute_hash() != last.hash {
                return Err(tampered(format!(
                    "record {} does not match its hash",
                    last.sequence
                )));
            }
            Ok((last.sequence, last.hash))
        }
    }
}

fn store_location(store: &dyn AuditStore) -> String {
    store.location()
}

/// The writer thread: blocks for the first request, then takes whatever else is already
/// queued, so that under load batches grow by themselves and a lone append is written at once.
/// Stops when every sender is gone, or if the writer is poisoned (a store panicked mid-commit):
/// the requests it drops are answered `Closed`.
fn write_queued(
    writer: &Mutex<Writer>,
    queued: &AtomicUsize,
    receiver: &Receiver<Request>,
    max_batch: usize,
) {
    let mut batch: Vec<Request> = Vec::with_capacity(max_batch);
    while let Ok(first) = receiver.recv() {
        batch.push(first);
        let Ok(mut writer) = writer.lock() else {
            return;
        };
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let taken = batch.len();
        writer.write(&mut batch);
        // Still under the lock: an inline appender that sees 0 knows these are written.
        queued.fetch_sub(taken, Ordering::SeqCst);
    }
}

struct Writer {
    store: Box<dyn AuditStore>,
    /// The store's location, for messages.
    location: String,
    key: AuditKey,
    /// Where this writer's last batch ended the chain.
    sequence: u64,
    hash: String,
    last_millis: i64,
}

impl Writer {
    fn write(&mut self, batch: &mut Vec<Request>) {
        let mut pending: Vec<PendingRecord> = Vec::with_capacity(batch.len());
        let mut acks: Vec<Ack> = Vec::with_capacity(batch.len());
        for request in batch.drain(..) {
            pending.push(request.record);
            acks.push(request.ack);
        }
        let (key, location) = (&self.key, &self.location);
        let (known_sequence, known_hash) = (self.sequence, &self.hash);
        let mut millis = self.last_millis;
        let result = self.store.append_batch(&mut |stored: Option<SignedHead>| {
            let (mut sequence, mut hash) =
                continue_from(stored, known_sequence, known_hash, key, location)?;
            // Taken under the store's write lock, so times never go backwards along the
            // chain, whichever process wrote last, even if the wall clock does.
            millis = now_millis().max(millis);
            let time = format_rfc3339_millis(millis);
            let mut records = Vec::with_capacity(pending.len());
            for record in std::mem::take(&mut pending) {
                sequence += 1;
                let record = record.seal(sequence, time.clone(), hash);
                hash = record.hash.clone();
                records.push(record);
            }
            let head = SignedHead::sign(key, sequence, hash);
            Ok(ChainedBatch { records, head })
        });
        match result {
            Ok(ChainedBatch { records, head }) => {
                self.sequence = head.sequence;
                self.hash = head.hash;
                self.last_millis = millis;
                for (record, ack) in records.into_iter().zip(acks) {
                    ack.complete(Ok(AppendedRecord {
                        sequence: record.sequence,
                        hash: record.hash,
                        time: record.time,
                    }));
                }
            }
            // The transaction rolled back: the chain stays where it was and the next batch
            // reuses these sequence numbers.
            Err(err) => {
                let message = err.to_string();
                for ack in acks {
                    ack.complete(Err(AuditError::AppendFailed(message.clone())));
                }
            }
        }
    }
}

/// Where a batch continues the chain: the stored head, which is where this writer left it
/// unless another process appended since. A head that moved on is trusted only when the audit
/// key signed it; one that went back, changed or vanished means records were removed or
/// rewritten.
fn continue_from(
    stored: Option<SignedHead>,
    known_sequence: u64,
    known_hash: &str,
    key: &AuditKey,
    location: &str,
) -> Result<(u64, String), AuditError> {
    let tampered = |detail: String| AuditError::Tampered {
        path: PathBuf::from(location),
        detail,
    };
    let Some(head) = stored else {
        if known_sequence == 0 {
            return Ok((0, GENESIS_HASH.to_owned()));
        }
        return Err(tampered(format!(
            "the head is gone, but this writer appended up to record {known_sequence}"
        )));
    };
    if head.sequence == known_sequence && head.hash == known_hash {
        return Ok((head.sequence, head.hash));
    }
    if head.sequence <= known_sequence {
        return Err(tampered(format!(
            "the head names record {} with a hash this writer did not store, after it \
             appended record {known_sequence}",
            head.sequence
        )));
    }
    if !head.is_authentic(key) {
        return Err(tampered(format!(
            "the head (record {}) was not signed with the audit key",
            head.sequence
        )));
    }
    Ok((head.sequence, head.hash))
}

#[derive(Default)]
struct Slot {
    result: Option<Result<AppendedRecord, AuditError>>,
    waker: Option<Waker>,
}

/// Resolves to the result of one [`AuditLog::append_async`].
pub struct AppendFuture {
    slot: Arc<Mutex<Slot>>,
}

impl fmt::Debug for AppendFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppendFuture")
    }
}

impl Future for AppendFuture {
    type Output = Result<AppendedRecord, AuditError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A read-only view of a log: verification, tail, per-session timelines and export. Opens
/// its own connection, so it never blocks the writer (SQLite WAL readers see a snapshot).
pub struct AuditReader {
    store: Box<dyn AuditStore>,
}

impl fmt::Debug for AuditReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditReader")
            .field("location", &self.store.location())
            .finish()
    }
}

impl AuditReader {
    /// Opens the SQLite log at `path` read-only. A missing file or a file that is not an
    /// audit log is an error; nothing is created.
    pub fn open(path: &Path) -> Result<AuditReader, AuditError> {
        Ok(AuditReader {
            store: Box::new(SqliteStore::open_read_only(path)?),
        })
    }

    /// Opens the PostgreSQL log `log` at `url` for reading; creates nothing.
    pub fn open_postgres(url: &str, log: &str) -> Result<AuditReader, AuditError> {
        Ok(AuditReader {
            store: Box::new(PostgresStore::connect_read_only(url, log)?),
        })
    }

    /// A reader over any store.
    pub fn from_store(store: Box<dyn AuditStore>) -> AuditReader {
        AuditReader { store }
    }

    /// Walks the chain from record 1 and names the first problem. With `key`, the signed head
    /// is authenticated too; without it, the head's sequence and hash are still compared.
    ///
    /// A key other than the log's is an error (`KeyMismatch`), not a forged head.
    pub fn verify(&mut self, key: Option<&AuditKey>) -> Result<VerifyReport, AuditError> {
        if let Some(key) = key {
            let expected = self.store.key_id()?;
            if expected != key.id() {
                return Err(AuditError::KeyMismatch {
                    expected,
                    given: key.id(),
                });
            }
        }
        verify_store(self.store.as_mut(), key)
    }

    /// The id of the key the log was created with ([`AuditKey::id`]).
    pub fn key_id(&mut self) -> Result<String, AuditError> {
        self.store.key_id()
    }

    /// The last `n` records, oldest first.
    pub fn tail(&mut self, n: usize) -> Result<Vec<AuditRecord>, AuditError> {
        self.store
            .tail(n)?
            .iter()
            .map(StoredRecord::decode)
            .collect()
    }

    /// Every record of session `id`, oldest first.
    pub fn session(&mut self, id: &str) -> Result<Vec<AuditRecord>, AuditError> {
        self.store
            .session(id)?
            .iter()
            .map(StoredRecord::decode)
            .collect()
    }

    /// Hands every record to `visit` in sequence order, from one snapshot; stops at the first
    /// error (a record that cannot be decoded, or one `visit` returns).
    pub fn for_each(
        &mut self,
        mut visit: impl FnMut(AuditRecord) -> Result<(), AuditError>,
    ) -> Result<(), AuditError> {
        let mut failure = None;
        self.store.scan(&mut |record| match record
            .and_then(|record| record.decode())
            .and_then(&mut visit)
        {
            Ok(()) => true,
            Err(err) => {
                failure = Some(err);
                false
            }
        })?;
        failure.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use airlock_core::{Decision, EventKind, Principal};
    use serde_json::json;

    use super::*;
    use crate::record::AuditContext;

    fn entry(tool: &str) -> AuditEntry {
        AuditEntry {
            session: Some("s".into()),
            principal: Principal::default(),
            event_kind: EventKind::ToolCall,
            tool: Some(tool.into()),
            arguments: json!({}),
            raw_arguments: json!({}),
            findings: vec![],
            decision: Decision::deny("test"),
            context: AuditContext::default(),
        }
    }

    /// An append that one caller handed to the writer thread is never overtaken by the same
    /// caller's next append committing inline, even when that one finds the writer free
    /// before the writer thread has taken the first (the window this test opens on purpose).
    #[test]
    fn one_callers_appends_keep_their_order_when_later_ones_could_commit_inline() {
        let dir = tempfile::tempdir().unwrap();
        let key = AuditKey::from_bytes([7; 32]);
        let log = AuditLog::open_sqlite(
            &dir.path().join("audit.db"),
            key,
            64,
            Durability::ProcessCrash,
        )
        .unwrap();
        assert!(log.inner.inline_commits);
        for round in 0..50 {
            // Hold the writer: an append whose acknowledgement blocks until released.
            let (entered_tx, entered_rx) = mpsc::channel();
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let holder = {
                let log = log.clone();
                std::thread::spawn(move || {
                    log.append_with(&entry("holder"), move |_| {
                        let _ = entered_tx.send(());
                        let _ = release_rx.recv();
                    });
                })
            };
            entered_rx.recv().unwrap();

            let (acks_tx, acks_rx) = mpsc::channel();
            let first_ack = acks_tx.clone();
            // The writer is busy: this one goes to the writer thread.
            log.append_with(&entry("first"), move |result| {
                let _ = first_ack.send(("first", result.unwrap().sequence));
            });
            release_tx.send(()).unwrap();
            // Catch the writer free before the writer thread takes "first".
            while log.inner.writer.try_lock().is_err() {
                std::hint::spin_loop();
            }
            log.append_with(&entry("second"), move |result| {
                let _ = acks_tx.send(("second", result.unwrap().sequence));
            });
            let order: Vec<_> = acks_rx.iter().take(2).collect();
            holder.join().unwrap();
            let [("first", first), ("second", second)] = order[..] else {
                panic!("round {round}: acknowledged out of order: {order:?}");
            };
            assert!(first < second, "round {round}: {first} after {second}");
        }
        assert!(log.verify().unwrap().is_intact());
    }

    #[test]
    fn only_stores_that_commit_without_waiting_commit_inline() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str, durability| {
            AuditLog::open_sqlite(
                &dir.path().join(name),
                AuditKey::from_bytes([7; 32]),
                64,
                durability,
            )
            .unwrap()
        };
        assert!(
            open("crash.db", Durability::ProcessCrash)
                .inner
                .inline_commits
        );
        assert!(!open("power.db", Durability::PowerLoss).inner.inline_commits);
    }
}
