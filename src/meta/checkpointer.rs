//! WAL checkpoints off the commit path: the metadata thread only appends commits to the WAL
//! (SQLite's own checkpoint-on-commit is off), and this thread, on a connection of its own,
//! copies committed pages back into the database file (PASSIVE checkpoints: they never block the
//! writer). If the WAL still outgrows `WAL_FRAMES_MAX`, the metadata thread checkpoints itself
//! (back-pressure), so the WAL stays bounded whatever the load.
//!
//! Durability is SQLite's: a checkpoint syncs the database file before the WAL may be reused,
//! and a commit is durable once its WAL frames are synced (`synchronous=FULL`), checkpointed or
//! not.

use std::cell::Cell;
use std::os::raw::c_int;
use std::path::Path;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use rusqlite::Connection;

use crate::limits::{CHECKPOINT_FRAMES_MIN, CHECKPOINT_IDLE_MS, WAL_FRAMES_MAX};

thread_local! {
    /// Frames in the WAL after this thread's last commit (SQLite's WAL hook reports them).
    static WAL_FRAMES: Cell<i64> = const { Cell::new(0) };
}

fn record_wal_frames(_wal: &rusqlite::hooks::Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(i64::from(frames));
    Ok(())
}

/// What the metadata thread holds: a way to wake the checkpointer.
pub struct Checkpointer {
    nudge: Sender<()>,
}

impl Checkpointer {
    /// Turns `connection`'s checkpoint-on-commit off (its WAL hook now only counts frames) and
    /// starts the checkpointer thread on a connection of its own to `path`. The thread ends when
    /// the `Checkpointer` is dropped.
    pub fn start(connection: &Connection, path: &Path) -> std::io::Result<Self> {
        connection.wal_hook(Some(record_wal_frames));
        let (nudge, nudged) = crossbeam_channel::bounded(1);
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("ringstore-checkpoint".into())
            .spawn(move || run(&path, &nudged))?;
        Ok(Checkpointer { nudge })
    }

    /// After a commit: wakes the checkpointer once the WAL holds `CHECKPOINT_FRAMES_MIN` frames,
    /// and checkpoints on `connection` itself when it holds `WAL_FRAMES_MAX` (the checkpointer
    /// has fallen behind).
    pub fn after_commit(&self, connection: &Connection) {
        let frames = WAL_FRAMES.get();
        if frames >= WAL_FRAMES_MAX {
            match checkpoint(connection) {
                Ok(()) => WAL_FRAMES.set(0),
                Err(error) => tracing::warn!(error = %error, frames, "checkpoint failed"),
            }
        } else if frames >= CHECKPOINT_FRAMES_MIN {
            match self.nudge.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => {
                    tracing::warn!("the checkpoint thread has stopped")
                }
            }
        }
    }
}

fn checkpoint(connection: &Connection) -> rusqlite::Result<()> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

fn run(path: &Path, nudged: &Receiver<()>) {
    let connection = match open(path) {
        Ok(connection) => connection,
        Err(error) => {
            // The metadata thread's back-pressure checkpoints still bound the WAL.
            tracing::error!(error = %error, "checkpoint thread cannot open the metadata file");
            return;
        }
    };
    loop {
        match nudged.recv_timeout(Duration::from_millis(CHECKPOINT_IDLE_MS)) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if let Err(error) = checkpoint(&connection) {
            tracing::warn!(error = %error, "checkpoint failed");
        }
    }
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    // The same durability as the writer: a checkpoint syncs the database file before the WAL is
    // reused.
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.busy_timeout(Duration::from_millis(crate::limits::DATABASE_BUSY_WAIT_MS))?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use crate::meta::store::tests::{create_bucket, inline_object};
    use crate::meta::{MetaStore, PutCondition, PutObject};

    // Goal: with checkpoints in the background, committed pages still reach the database file
    // (the checkpoint thread copies them; the writer, below WAL_FRAMES_MAX, never does).
    #[test]
    fn the_checkpoint_thread_copies_commits_into_the_database() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("meta.sqlite");
        let mut store = MetaStore::open(&path).unwrap();
        store.checkpoint_in_background(&path).unwrap();
        store.apply(&create_bucket("b")).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let body = vec![7u8; 4096];
        for batch in 0..40 {
            let puts: Vec<PutObject> = (0..64)
                .map(|index| {
                    let key = format!("k{batch}-{index}");
                    PutObject(inline_object(&key, &body), PutCondition::None)
                })
                .collect();
            for reply in store.apply_all(&puts) {
                reply.unwrap();
            }
        }
        // 2,560 objects of 4 KiB: ~10 MiB of pages, far below WAL_FRAMES_MAX (64 MiB).
        let grown = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            std::fs::metadata(&path).unwrap().len() > before + 8 * 1024 * 1024
        });
        assert!(
            grown,
            "the database file did not grow: nothing was checkpointed"
        );
    }
}
