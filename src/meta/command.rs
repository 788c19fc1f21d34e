//! The metadata protocol: every request is a `MetaCommand` with its own `Reply` type, so a core
//! can only receive the answer its request has (a mismatch does not compile). The metadata
//! thread sees each request as a type-erased `Job` and runs a batch of them in one transaction.

use std::fmt;

use futures_channel::oneshot;
use rusqlite::Transaction;

use super::MetaError;

/// One metadata request.
pub trait MetaCommand: fmt::Debug + Send + 'static {
    /// What it answers once its transaction committed.
    type Reply: Send + 'static;

    /// Runs the command inside the batch's transaction.
    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError>;

    /// What it may change that cores cache (see `Generations`). No default: a new command must
    /// say what it writes.
    fn changes(&self) -> Changes<'_>;

    /// True only for a command that never reads a noncurrent version older than its key's
    /// current row, so it may run while such versions wait in `versions_staged`
    /// (`version_staging`); every other command has them settled into `versions` first.
    fn keeps_versions_staged(&self) -> bool {
        false
    }

    /// True only for a command that writes nothing (no row, no usage figure) and keeps staged
    /// versions (`keeps_versions_staged`, so nothing needs settling first): it runs on the
    /// metadata reader, beside the writer, in a read transaction of its own, and never waits
    /// behind a write batch's commit. The reader's connection is read-only, so a command
    /// marked wrongly fails (SQLITE_READONLY) instead of writing.
    const READ_ONLY: bool = false;
}

/// What a command may change of what cores cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes<'a> {
    /// Nothing cached (reads, uploads and parts, which are not objects).
    Nothing,
    /// A bucket's existence, owner or ACL.
    Buckets,
    /// A user's existence, secret, role or status.
    Users,
    /// One object (created, replaced, deleted or re-ACLed).
    Object {
        /// Bucket name.
        bucket: &'a str,
        /// Object key.
        key: &'a str,
    },
    /// Several objects of one bucket.
    Objects {
        /// Bucket name.
        bucket: &'a str,
        /// Object keys.
        keys: &'a [String],
    },
}

/// What a command's `apply` found, kept where its `changes` can borrow it, the last apply's
/// value winning: a command runs again when its batch does (`MetaStore::in_batch`), and only
/// the committed run's value counts. Append-only cells, so a reference handed out stays valid.
#[derive(Debug)]
pub(crate) struct LastApplied<T> {
    value: std::sync::OnceLock<T>,
    later: std::sync::OnceLock<Box<LastApplied<T>>>,
}

impl<T> LastApplied<T> {
    /// Nothing applied yet.
    pub(crate) const fn new() -> Self {
        LastApplied {
            value: std::sync::OnceLock::new(),
            later: std::sync::OnceLock::new(),
        }
    }

    /// Keeps `value` as the latest.
    pub(crate) fn set(&self, value: T) {
        if let Err(value) = self.value.set(value) {
            self.later
                .get_or_init(|| Box::new(LastApplied::new()))
                .set(value);
        }
    }

    /// The latest value kept.
    pub(crate) fn get(&self) -> Option<&T> {
        self.later
            .get()
            .and_then(|later| later.get())
            .or_else(|| self.value.get())
    }
}

/// A command on its way through the metadata thread, its reply type erased.
pub trait Job: Send {
    /// Runs the command in `transaction`, keeping its outcome until the commit.
    fn apply(&mut self, transaction: &Transaction<'_>);
    /// `MetaCommand::keeps_versions_staged` of the command.
    fn keeps_versions_staged(&self) -> bool;
    /// The command could not run (staged versions failed to settle before it): this error.
    fn refuse(&mut self, error: MetaError);
    /// Whether its outcome so far is an error.
    fn failed(&self) -> bool;
    /// What the command may have changed.
    fn changes(&self) -> Changes<'_>;
    /// The batch did not commit: the outcome becomes this error.
    fn fail(&mut self, message: &str);
    /// Sends the outcome to the waiting core (which may have gone; nothing to do then).
    fn reply(self: Box<Self>);
    /// The command's type name, without its path (`PutObject`): the slow-batch warning's field.
    fn name(&self) -> &'static str;
}

/// A command, its outcome once applied, and where the outcome goes.
pub(crate) struct Pending<C: MetaCommand> {
    command: C,
    outcome: Option<Result<C::Reply, MetaError>>,
    reply: oneshot::Sender<Result<C::Reply, MetaError>>,
}

impl<C: MetaCommand> Pending<C> {
    /// `command` with the receiver its core awaits.
    pub(crate) fn new(command: C) -> (Self, oneshot::Receiver<Result<C::Reply, MetaError>>) {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            command,
            outcome: None,
            reply,
        };
        (pending, answer)
    }
}

impl<C: MetaCommand> Job for Pending<C> {
    fn apply(&mut self, transaction: &Transaction<'_>) {
        self.outcome = Some(self.command.apply(transaction));
    }

    fn keeps_versions_staged(&self) -> bool {
        self.command.keeps_versions_staged()
    }

    fn refuse(&mut self, error: MetaError) {
        self.outcome = Some(Err(error));
    }

    fn failed(&self) -> bool {
        matches!(self.outcome, Some(Err(_)))
    }

    fn changes(&self) -> Changes<'_> {
        self.command.changes()
    }

    fn fail(&mut self, message: &str) {
        self.outcome = Some(Err(MetaError::Sqlite(message.to_string())));
    }

    fn reply(self: Box<Self>) {
        let outcome = self
            .outcome
            .expect("every job of a batch is applied or failed before replies");
        let _ = self.reply.send(outcome);
    }

    fn name(&self) -> &'static str {
        short_type_name(std::any::type_name::<C>())
    }
}

/// `a::b::PutObject` → `PutObject` (a generic's parameters keep their paths).
fn short_type_name(full: &'static str) -> &'static str {
    let plain = full.split('<').next().unwrap_or(full);
    let start = plain.rfind("::").map_or(0, |at| at + 2);
    &full[start..]
}

#[cfg(test)]
mod tests {
    use super::{short_type_name, LastApplied};

    #[test]
    fn command_names_drop_their_path() {
        // Goal: the slow-batch warning names the command as the code does.
        assert_eq!(
            short_type_name("ringstore::meta::objects::PutObject"),
            "PutObject"
        );
        assert_eq!(short_type_name("Plain"), "Plain");
        assert_eq!(
            short_type_name("ringstore::meta::Wrap<ringstore::meta::Inner>"),
            "Wrap<ringstore::meta::Inner>"
        );
    }

    #[test]
    fn the_last_value_applied_wins() {
        // Goal: a command applied again (its batch rerun) reports its last run's value.
        let changed = LastApplied::new();
        assert_eq!(changed.get(), None);
        changed.set(1);
        assert_eq!(changed.get(), Some(&1));
        changed.set(2);
        changed.set(3);
        assert_eq!(changed.get(), Some(&3));
    }
}
