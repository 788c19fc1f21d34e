//! What a core uses to reach the metadata threads: a bounded `try_send` and an awaited reply,
//! so a core never blocks on SQLite. Read-only commands go to the reader, the rest to the writer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};

use super::command::{MetaCommand, Pending};
use super::multipart::{Completion, PartRecord, PartsPage, PartsQuery, UploadRecord};
use super::thread::MetaRequest;
use super::upload_listing::{UploadsPage, UploadsQuery};
use super::versions::VersionWritten;
use super::{
    AbortUpload, BucketRecord, CompleteUpload, CreateBucket, CreateUpload, DeleteBucket,
    Generations, GetBucket, GetObject, GetUpload, GetUser, ListBuckets, ListObjects, ListParts,
    ListQuery, ListUploads, Listing, MetaError, ObjectRecord, PutBucketAcl, PutCondition,
    PutObject, PutPart, ReapUploads, ReapedUploads, UserLookup, UserRecord,
};
use crate::limits::META_QUEUE_WAIT_TIME_MAX_MS;
use crate::object_bytes::FileId;

/// A handle to the metadata threads; cheap to clone, one per core.
#[derive(Clone)]
pub struct MetaClient {
    /// The writer's queue (`thread::spawn`): every command that writes, in group commits.
    sender: Sender<MetaRequest>,
    /// The reader's queue (`thread::spawn_reader`) for `MetaCommand::READ_ONLY` commands; the
    /// writer's when there is no reader.
    reader: Sender<MetaRequest>,
    generations: Arc<Generations>,
}

impl MetaClient {
    /// A client sending on `sender`; `generations` are the counters the thread bumps.
    /// Every command then goes to that one thread; `with_reader` adds the reader.
    pub fn new(sender: Sender<MetaRequest>, generations: Arc<Generations>) -> Self {
        MetaClient {
            reader: sender.clone(),
            sender,
            generations,
        }
    }

    /// This client with read-only commands sent to the reader on `reader`.
    pub fn with_reader(self, reader: Sender<MetaRequest>) -> Self {
        MetaClient { reader, ..self }
    }

    /// The queue `command` goes to: the reader's for a read-only command, else the writer's.
    fn queue_of<C: MetaCommand>(&self, command: &C) -> &Sender<MetaRequest> {
        // keeps_versions_staged is part of READ_ONLY's contract; checked here as well, because a
        // command that needs staged versions settled would read wrong rows on the reader.
        if C::READ_ONLY && command.keeps_versions_staged() {
            &self.reader
        } else {
            &self.sender
        }
    }

    /// The change counters: a core's cached bucket or object record is valid while the counter
    /// it was fetched under stays the same.
    pub fn generations(&self) -> &Generations {
        &self.generations
    }

    /// Requests currently waiting in the writer's queue.
    pub fn queue_depth(&self) -> usize {
        self.sender.len()
    }

    /// Whether both metadata threads answer (`/readyz`): a read on the writer, then on the reader.
    pub async fn answers(&self) -> bool {
        let probe = || GetBucket {
            name: String::new(),
        };
        self.call_on(&self.sender, probe()).await.is_ok()
            && self.call_on(&self.reader, probe()).await.is_ok()
    }

    /// Sends `command` to the metadata thread and awaits its answer; waits (without blocking the
    /// core) while the queue is full, up to `META_QUEUE_WAIT_TIME_MAX_MS`.
    pub async fn call<C: MetaCommand>(&self, command: C) -> Result<C::Reply, MetaError> {
        self.call_on(self.queue_of(&command), command).await
    }

    /// `call` on the given queue.
    async fn call_on<C: MetaCommand>(
        &self,
        queue: &Sender<MetaRequest>,
        command: C,
    ) -> Result<C::Reply, MetaError> {
        let (pending, answer) = Pending::new(command);
        let mut request: MetaRequest = Box::new(pending);
        let started = Instant::now();
        loop {
            match queue.try_send(request) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return Err(MetaError::Closed),
                Err(TrySendError::Full(returned)) => {
                    if started.elapsed() > Duration::from_millis(META_QUEUE_WAIT_TIME_MAX_MS) {
                        return Err(MetaError::QueueFull);
                    }
                    request = returned;
                    glommio::timer::sleep(Duration::from_micros(200)).await;
                }
            }
        }
        answer.await.map_err(|_| MetaError::Closed)?
    }

    /// `call` for threads other than the cores (the tier threads), which have their own timer:
    /// while the queue is full it awaits `pause()` and tries again, without a limit (background
    /// work waits as long as the cores keep the thread busy).
    pub async fn call_off_core<C: MetaCommand, F: std::future::Future<Output = ()>>(
        &self,
        command: C,
        pause: impl Fn() -> F,
    ) -> Result<C::Reply, MetaError> {
        let queue = self.queue_of(&command);
        let (pending, answer) = Pending::new(command);
        let mut request: MetaRequest = Box::new(pending);
        loop {
            match queue.try_send(request) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return Err(MetaError::Closed),
                Err(TrySendError::Full(returned)) => {
                    request = returned;
                    pause().await;
                }
            }
        }
        answer.await.map_err(|_| MetaError::Closed)?
    }

    /// Creates a bucket; `Ok(false)` when the same owner already has it.
    pub async fn create_bucket(&self, record: BucketRecord) -> Result<bool, MetaError> {
        self.call(CreateBucket(record)).await
    }

    /// Deletes an empty bucket; returns the files of the uploads it dropped.
    pub async fn delete_bucket(&self, name: String) -> Result<Vec<FileId>, MetaError> {
        self.call(DeleteBucket { name }).await
    }

    /// Replaces a bucket's ACL.
    pub async fn put_bucket_acl(&self, name: String, acl: Option<String>) -> Result<(), MetaError> {
        self.call(PutBucketAcl { name, acl }).await
    }

    /// Looks a user up.
    pub async fn get_user(&self, lookup: UserLookup) -> Result<Option<UserRecord>, MetaError> {
        self.call(GetUser(lookup)).await
    }

    /// Looks a bucket up.
    pub async fn get_bucket(&self, name: String) -> Result<Option<BucketRecord>, MetaError> {
        self.call(GetBucket { name }).await
    }

    /// Lists every bucket.
    pub async fn list_buckets(&self) -> Result<Vec<BucketRecord>, MetaError> {
        self.call(ListBuckets).await
    }

    /// Commits an object as the key's newest version if `condition` holds; returns its version
    /// id and the files no version references any more.
    pub async fn put_object(
        &self,
        record: ObjectRecord,
        condition: PutCondition,
    ) -> Result<VersionWritten, MetaError> {
        self.call(PutObject(record, condition)).await
    }

    /// Looks an object up (`NoSuchBucket` if the bucket is missing); an inline object's bytes are
    /// read only `with_bytes` (a GET or a copy), else its body is `ObjectBody::InlineUnread`.
    pub async fn get_object(
        &self,
        bucket: String,
        key: String,
        with_bytes: bool,
    ) -> Result<Option<ObjectRecord>, MetaError> {
        self.call(GetObject {
            bucket,
            key,
            with_bytes,
        })
        .await
    }

    /// One page of a listing.
    pub async fn list_objects(&self, query: ListQuery) -> Result<Listing, MetaError> {
        self.call(ListObjects(query)).await
    }
}

impl MetaClient {
    /// Starts a multipart upload.
    pub async fn create_upload(&self, upload: UploadRecord) -> Result<(), MetaError> {
        self.call(CreateUpload { upload }).await
    }

    /// Looks an upload up.
    pub async fn get_upload(&self, upload_id: String) -> Result<Option<UploadRecord>, MetaError> {
        self.call(GetUpload { upload_id }).await
    }

    /// Records a part; returns the file of the part it replaced.
    pub async fn put_part(&self, part: PartRecord) -> Result<Vec<FileId>, MetaError> {
        self.call(PutPart { part }).await
    }

    /// Completes an upload; returns the object and the files to delete.
    pub async fn complete_upload(
        &self,
        completion: Completion,
    ) -> Result<(ObjectRecord, Vec<FileId>), MetaError> {
        self.call(CompleteUpload(completion)).await
    }

    /// Aborts an upload; returns its part files.
    pub async fn abort_upload(&self, upload_id: String) -> Result<Vec<FileId>, MetaError> {
        self.call(AbortUpload { upload_id }).await
    }

    /// One step of reaping uploads started (and forgetting completions) before the cut-off:
    /// their part files, and whether to step again.
    pub async fn reap_uploads(&self, created_before_ms: i64) -> Result<ReapedUploads, MetaError> {
        self.call(ReapUploads { created_before_ms }).await
    }

    /// One page of parts.
    pub async fn list_parts(&self, query: PartsQuery) -> Result<PartsPage, MetaError> {
        self.call(ListParts { query }).await
    }

    /// One page of uploads.
    pub async fn list_uploads(&self, query: UploadsQuery) -> Result<UploadsPage, MetaError> {
        self.call(ListUploads { query }).await
    }
}
