//! The metadata database: opening it, and applying a batch of commands in one transaction (group
//! commit). Each command's SQL lives with its kind (`buckets`, `objects`, `listing`, `multipart`,
//! `users`).

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction};

use super::command::{Job, MetaCommand};
use super::schema::{self, SchemaError};
use super::MetaError;

/// The metadata database, owned by the metadata thread.
pub struct MetaStore {
    connection: Connection,
}

/// Where a batch's time went, for the metadata thread's slow-batch warning. What its figures
/// leave out of the batch's whole time is BEGIN waiting for the write lock (another process
/// writing, `busy_timeout`), the usage figures' flush and a first pass's rollback.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchTiming {
    /// The command that ran longest and how long it ran (of a batch that ran twice, `in_batch`,
    /// the longer of its two runs). Its time includes settling the staged versions it found
    /// (`run_job`), which other commands' writes left.
    pub slowest: Option<(&'static str, Duration)>,
    /// All the commands' runs together.
    pub commands: Duration,
    /// How long the commit took, whether or not it succeeded: the WAL's fsync, and the
    /// checkpoint SQLite runs in the commit that fills the WAL past its limit. Zero when the
    /// batch never reached its commit.
    pub commit: Duration,
    /// Passes the batch took: 1, or 2 when a command failed after writing (`in_batch`).
    pub passes: u8,
}

impl BatchTiming {
    /// Counts one command's run.
    fn note_command(&mut self, name: &'static str, took: Duration) {
        self.commands += took;
        if self.slowest.is_none_or(|(_, longest)| took > longest) {
            self.slowest = Some((name, took));
        }
    }
}

/// Settles staged versions (`version_staging`) before a command that does not keep them.
fn settle_unless_kept(kept: bool, transaction: &Transaction<'_>) -> Result<(), MetaError> {
    if !kept {
        super::version_staging::settle(transaction)?;
    }
    Ok(())
}

/// How one job of a batch ended, for `MetaStore::in_batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobEnd {
    /// It succeeded, or failed having written nothing of its own.
    Finished,
    /// It failed after writing rows: half a change, to be undone.
    FailedAfterWriting,
}

/// Runs one job in `transaction`: settles staged versions first unless `keeps_staged`, then
/// hands `job` the transaction, or the settling's error to refuse it with; `job` answers whether
/// it failed. Rows the settling moved belong to the batch, not the job: a command refused after
/// them (NoSuchVersion) did not write them, and they stand.
fn run_job(
    transaction: &Transaction<'_>,
    keeps_staged: bool,
    job: impl FnOnce(Result<&Transaction<'_>, MetaError>) -> bool,
) -> JobEnd {
    if let Err(error) = settle_unless_kept(keeps_staged, transaction) {
        // A settling stopped half-way may stand: a row moved twice is replaced, not doubled
        // (`version_staging::settle_slot`).
        job(Err(error));
        return JobEnd::Finished;
    }
    let written_from = rows_written(transaction);
    let failed = job(Ok(transaction));
    end_of(failed, written_from, transaction)
}

/// How a job ended that `failed` or not, having started when `rows_written` read
/// `written_from`.
fn end_of(failed: bool, written_from: u64, transaction: &Transaction<'_>) -> JobEnd {
    if failed && rows_written(transaction) != written_from {
        JobEnd::FailedAfterWriting
    } else {
        JobEnd::Finished
    }
}

/// A count of rows written on this connection: SQLite's rows inserted, updated or deleted since
/// it opened (triggers included), less those savepoints rolled back (`usage::in_savepoint`). Only
/// the difference across one job means anything: what it wrote and kept.
fn rows_written(transaction: &Transaction<'_>) -> u64 {
    transaction
        .total_changes()
        .wrapping_sub(super::usage::rows_rolled_back())
}

impl MetaStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, SchemaError> {
        let mut connection = Connection::open(path)?;
        // The users table holds secrets in clear (SigV4 needs them): owner-only, like a key file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        schema::prepare(&mut connection)?;
        let mut store = MetaStore { connection };
        // Whatever reads the database before the first command finds every version in place.
        // (IMMEDIATE, see `begin`: a `ringstore user` opening beside a running server.)
        let transaction = store.begin()?;
        super::version_staging::settle(&transaction)?;
        transaction.commit()?;
        Ok(store)
    }

    /// Opens the database at `path` for the metadata reader: read-only, so it never takes the
    /// write lock, and in WAL mode each of its read transactions sees every commit made before
    /// it began while the writer goes on. The writer's `open` must have run first (it creates
    /// and upgrades the schema). It maps the file, and keeps the mapping across the writer's
    /// commits (`kept_map`).
    pub fn open_reader(path: &Path) -> Result<Self, SchemaError> {
        super::kept_map::register().map_err(|code| {
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
        })?;
        let connection = Connection::open_with_flags_and_vfs(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            super::kept_map::KEPT_MAP_VFS,
        )?;
        schema::prepare_reader(&connection)?;
        Ok(MetaStore { connection })
    }

    /// Runs one read-only job (`MetaCommand::READ_ONLY`) in a read transaction of its own: one
    /// snapshot for its statements, held only while it runs, so the writer's checkpoints can
    /// keep catching up and resetting the WAL between reads. If the transaction cannot begin,
    /// the job gets the error.
    pub fn apply_read(&mut self, job: &mut dyn Job) {
        // A read transaction that did not end (a failed COMMIT whose rollback failed too) would
        // make every later BEGIN fail: end it first.
        if !self.connection.is_autocommit() {
            let _ = self.connection.execute_batch("ROLLBACK");
        }
        let transaction = match self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
        {
            Ok(transaction) => transaction,
            Err(error) => {
                job.fail(&MetaError::from(error).detail());
                return;
            }
        };
        job.apply(&transaction);
        // Ends the read; a read transaction has nothing to commit, so an error here changes no
        // outcome.
        if let Err(error) = transaction.commit() {
            tracing::warn!(error = %error, "metadata read transaction did not end cleanly");
        }
    }

    /// Runs one read-only command (`MetaCommand::READ_ONLY`) as the metadata reader does
    /// (`apply_read`) and returns its reply: for benchmarks and tests that read through a
    /// reader's connection (`open_reader`).
    pub fn read<C: MetaCommand>(&mut self, command: C) -> Result<C::Reply, MetaError> {
        let (mut job, answer) = super::command::Pending::new(command);
        self.apply_read(&mut job);
        Box::new(job).reply();
        futures_lite::future::block_on(answer).expect("apply_read leaves an outcome to reply")
    }

    /// The connection (unit tests read rows directly).
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Writes a consistent copy of the database at `database` to `target` (which must not exist)
    /// with SQLite's `VACUUM INTO`, on a connection of its own: a reader in WAL mode, so the
    /// metadata thread keeps committing meanwhile. For shipping the metadata to a tier.
    pub fn snapshot(database: &Path, target: &Path) -> Result<(), MetaError> {
        let connection = Connection::open_with_flags(
            database,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(std::time::Duration::from_millis(
            crate::limits::DATABASE_BUSY_WAIT_MS,
        ))?;
        connection.execute("VACUUM INTO ?1", [target.to_string_lossy()])?;
        Ok(())
    }

    /// How many versions keep their bytes in local files (not moved to a tier, not inline): what
    /// a metadata restored on a new host cannot serve.
    pub fn local_file_versions(&self) -> Result<u64, MetaError> {
        Ok(self.connection.query_row(
            "SELECT (SELECT count(*) FROM objects WHERE (file_id != '' OR parts IS NOT NULL) \
             AND instr(file_id, '@') = 0) + (SELECT count(*) FROM versions WHERE delete_marker = 0 \
             AND (file_id != '' OR parts IS NOT NULL) AND instr(file_id, '@') = 0)",
            [],
            |row| row.get::<_, i64>(0),
        )? as u64)
    }

    /// Every file id any row references, in memory (unit tests; the server's startup scrub
    /// reads them a directory's share at a time, `file_references`).
    #[cfg(test)]
    pub(crate) fn referenced_file_ids(
        &self,
    ) -> Result<std::collections::HashSet<crate::object_bytes::FileId>, MetaError> {
        use super::object_rows::files_of;
        use crate::object_bytes::FileId;
        use std::collections::HashSet;
        let mut ids = HashSet::new();
        // Every version's files: noncurrent versions keep theirs until they are deleted.
        let mut statement = self.connection.prepare(
            "SELECT file_id, parts FROM objects UNION ALL SELECT file_id, parts FROM versions",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            ids.extend(files_of(row.get(0)?, row.get(1)?));
        }
        let mut statement = self.connection.prepare("SELECT file_id FROM parts")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let text: String = row.get(0)?;
            ids.extend(FileId::parse(&text));
        }
        Ok(ids)
    }

    /// Begins a write transaction. IMMEDIATE: the write lock is taken (or waited for,
    /// `busy_timeout`) at BEGIN. A deferred transaction that reads first and then writes fails at
    /// once with SQLITE_BUSY when another connection committed in between — the server's
    /// metadata thread and `ringstore user` (another process, whose commands read before they
    /// write) are two such connections.
    fn begin(&mut self) -> rusqlite::Result<Transaction<'_>> {
        self.connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
    }

    /// Applies `jobs` in one transaction (group commit). Their outcomes are only valid once it
    /// committed: if the commit fails, every job gets the error. A job that fails having written
    /// rows leaves nothing (`in_batch`). Answers where the batch's time went.
    pub fn apply_batch(&mut self, jobs: &mut [Box<dyn Job>]) -> BatchTiming {
        let mut timing = BatchTiming::default();
        let mut commands = BatchTiming::default();
        let outcome = self.in_batch(jobs.len(), &mut timing, |index, transaction| {
            let started = Instant::now();
            let job = &mut jobs[index];
            let end = run_job(transaction, job.keeps_versions_staged(), |settled| {
                match settled {
                    Ok(transaction) => job.apply(transaction),
                    Err(error) => job.refuse(error),
                }
                job.failed()
            });
            commands.note_command(job.name(), started.elapsed());
            end
        });
        if let Err(error) = outcome {
            let message = error.detail();
            for job in jobs.iter_mut() {
                job.fail(&message);
            }
        }
        BatchTiming {
            slowest: commands.slowest,
            commands: commands.commands,
            ..timing
        }
    }

    /// Applies `commands` of one kind in one transaction (benchmarks, tests, bulk loads): every
    /// outcome, or the commit's error for each if the commit fails. As `apply_batch`, a command
    /// that fails leaves nothing written.
    pub fn apply_all<C: MetaCommand>(
        &mut self,
        commands: &[C],
    ) -> Vec<Result<C::Reply, MetaError>> {
        let mut outcomes: Vec<Option<Result<C::Reply, MetaError>>> =
            commands.iter().map(|_| None).collect();
        let committed = self.in_batch(
            commands.len(),
            &mut BatchTiming::default(),
            |index, transaction| {
                let command = &commands[index];
                run_job(transaction, command.keeps_versions_staged(), |settled| {
                    let outcome = settled.and_then(|transaction| command.apply(transaction));
                    let failed = outcome.is_err();
                    outcomes[index] = Some(outcome);
                    failed
                })
            },
        );
        match committed {
            Ok(()) => outcomes
                .into_iter()
                .map(|outcome| outcome.expect("in_batch runs every command or keeps its error"))
                .collect(),
            Err(error) => {
                let message = error.detail();
                commands
                    .iter()
                    .map(|_| Err(MetaError::Sqlite(message.clone())))
                    .collect()
            }
        }
    }

    /// Applies one command in a transaction of its own; if it fails, nothing it wrote is kept.
    pub fn apply<C: MetaCommand>(&mut self, command: &C) -> Result<C::Reply, MetaError> {
        self.apply_all(std::slice::from_ref(command))
            .pop()
            .expect("one outcome per command")
    }

    /// Runs `run(index, transaction)` for each of `count` jobs in one transaction and commits
    /// it, counting its passes and its commit's time in `timing`; `run` answers how the job
    /// ended (see `run_job`). The other jobs of a batch commit
    /// when one fails, so a failed job must leave nothing behind: one refused by a check wrote
    /// nothing, but one that failed part-way (an SQLite error between two writes: a PutObject
    /// that staged the key's current version, then failed to replace it) would leave half a
    /// change. Then the transaction rolls back and the batch runs again, each job in a
    /// savepoint of its own, rolled back if the job fails having written: two passes at most,
    /// and the common pass pays no savepoint (each costs a statement journal). Every job's
    /// outcome is its run in the committed pass.
    ///
    /// An error after which SQLite rolled the whole transaction back itself (disk full, I/O
    /// error, out of memory: the connection is back in autocommit) fails the whole batch, as a
    /// failed commit does: the writes before it are gone, and the jobs after it would each
    /// commit alone.
    fn in_batch(
        &mut self,
        count: usize,
        timing: &mut BatchTiming,
        mut run: impl FnMut(usize, &Transaction<'_>) -> JobEnd,
    ) -> Result<(), MetaError> {
        if self.run_pass(count, &mut run, Pass::Plain, timing)? == PassEnd::Committed {
            return Ok(());
        }
        match self.run_pass(count, &mut run, Pass::SavepointEach, timing)? {
            PassEnd::Committed => Ok(()),
            PassEnd::RolledBack => unreachable!("a pass with savepoints never rolls back"),
        }
    }

    /// One pass of `in_batch`: commits, or (`Pass::Plain` only) rolls back at the first job that
    /// failed after writing.
    fn run_pass(
        &mut self,
        count: usize,
        run: &mut impl FnMut(usize, &Transaction<'_>) -> JobEnd,
        pass: Pass,
        timing: &mut BatchTiming,
    ) -> Result<PassEnd, MetaError> {
        timing.passes += 1;
        let transaction = self.begin()?;
        super::usage::discard_pending();
        for index in 0..count {
            let end = match pass {
                Pass::Plain => Ok(run(index, &transaction)),
                Pass::SavepointEach => super::usage::in_savepoint(
                    &transaction,
                    "job",
                    || Ok(run(index, &transaction)),
                    |end| Ok(*end == JobEnd::Finished),
                )
                .map(|(_, kept)| {
                    if kept {
                        JobEnd::Finished
                    } else {
                        JobEnd::FailedAfterWriting
                    }
                }),
            };
            // Before `end`'s error: the savepoint's own statements fail once the transaction is gone.
            if transaction.is_autocommit() {
                super::usage::discard_pending();
                tracing::error!(
                    job = index,
                    jobs = count,
                    "SQLite rolled the metadata transaction back"
                );
                return Err(MetaError::Sqlite(TRANSACTION_LOST.into()));
            }
            if end? == JobEnd::FailedAfterWriting && pass == Pass::Plain {
                tracing::warn!(
                    job = index,
                    jobs = count,
                    "a metadata command failed after writing; its batch runs again, a savepoint per command"
                );
                super::usage::discard_pending();
                transaction.rollback()?;
                return Ok(PassEnd::RolledBack);
            }
        }
        // Usage counted by the batch's row writes, added in the same transaction (on an error
        // the transaction rolls back on drop, and the counts go with it).
        super::usage::flush_pending(&transaction)
            .inspect_err(|_| super::usage::discard_pending())?;
        let committing = Instant::now();
        let committed = transaction.commit();
        timing.commit = committing.elapsed();
        committed.inspect_err(|error| {
            tracing::error!(error = %error, "metadata commit failed");
        })?;
        Ok(PassEnd::Committed)
    }
}

/// What every job of a batch is answered when SQLite rolled its transaction back on an error.
const TRANSACTION_LOST: &str =
    "the metadata transaction was rolled back after an error (disk full, I/O error or out of memory)";

/// How `MetaStore::run_pass` runs its jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// In the transaction as they come (the common case).
    Plain,
    /// Each in a savepoint of its own (after a job failed having written).
    SavepointEach,
}

/// How a pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PassEnd {
    Committed,
    RolledBack,
}

#[cfg(test)]
#[path = "store_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "reader_tests.rs"]
mod reader_tests;
