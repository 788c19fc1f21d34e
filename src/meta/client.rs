//! What a core uses to reach the metadata thread: a bounded `try_send` and an awaited reply,
//! so a core never blocks on SQLite.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use futures_channel::oneshot;

use super::multipart::{
    Completion, PartRecord, PartsPage, PartsQuery, UploadRecord, UploadsPage, UploadsQuery,
};
use super::thread::MetaRequest;
use super::{
    BucketRecord, Generations, ListQuery, Listing, MetaError, MetaOp, MetaReply, ObjectRecord,
    PutCondition, UserLookup, UserRecord,
};
use crate::limits::META_QUEUE_WAIT_TIME_MAX_MS;
use crate::storage::FileId;

/// A handle to the metadata thread; cheap to clone, one per core.
#[derive(Clone)]
pub struct MetaClient {
    sender: Sender<MetaRequest>,
    generations: Arc<Generations>,
}

impl MetaClient {
    /// A client sending on `sender`; `generations` are the counters the thread bumps.
    pub fn new(sender: Sender<MetaRequest>, generations: Arc<Generations>) -> Self {
        MetaClient {
            sender,
            generations,
        }
    }

    /// The change counters: a core's cached bucket or object record is valid while the counter
    /// it was fetched under stays the same.
    pub fn generations(&self) -> &Generations {
        &self.generations
    }

    /// Requests currently waiting in the queue.
    pub fn queue_depth(&self) -> usize {
        self.sender.len()
    }

    async fn call(&self, op: MetaOp) -> Result<MetaReply, MetaError> {
        let (reply, answer) = oneshot::channel();
        let mut request = MetaRequest { op, reply };
        let started = Instant::now();
        loop {
            match self.sender.try_send(request) {
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

    /// Creates a bucket; `Ok(false)` when the same owner already has it.
    pub async fn create_bucket(&self, record: BucketRecord) -> Result<bool, MetaError> {
        match self.call(MetaOp::CreateBucket(record)).await? {
            MetaReply::BucketCreated(created) => Ok(created),
            other => Err(unexpected(other)),
        }
    }

    /// Deletes an empty bucket.
    pub async fn delete_bucket(&self, name: String) -> Result<Vec<FileId>, MetaError> {
        match self.call(MetaOp::DeleteBucket { name }).await? {
            MetaReply::BucketDeleted(files) => Ok(files),
            other => Err(unexpected(other)),
        }
    }

    /// Replaces a bucket's ACL.
    pub async fn put_bucket_acl(&self, name: String, acl: Option<String>) -> Result<(), MetaError> {
        match self.call(MetaOp::PutBucketAcl { name, acl }).await? {
            MetaReply::AclSet => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Replaces an object's ACL.
    pub async fn put_object_acl(
        &self,
        bucket: String,
        key: String,
        acl: Option<String>,
    ) -> Result<(), MetaError> {
        match self.call(MetaOp::PutObjectAcl { bucket, key, acl }).await? {
            MetaReply::AclSet => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Looks a user up.
    pub async fn get_user(&self, lookup: UserLookup) -> Result<Option<UserRecord>, MetaError> {
        match self.call(MetaOp::GetUser(lookup)).await? {
            MetaReply::User(user) => Ok(user),
            other => Err(unexpected(other)),
        }
    }

    /// Looks a bucket up.
    pub async fn get_bucket(&self, name: String) -> Result<Option<BucketRecord>, MetaError> {
        match self.call(MetaOp::GetBucket { name }).await? {
            MetaReply::Bucket(bucket) => Ok(bucket),
            other => Err(unexpected(other)),
        }
    }

    /// Lists every bucket.
    pub async fn list_buckets(&self) -> Result<Vec<BucketRecord>, MetaError> {
        match self.call(MetaOp::ListBuckets).await? {
            MetaReply::Buckets(buckets) => Ok(buckets),
            other => Err(unexpected(other)),
        }
    }

    /// Commits an object if `condition` holds; returns the file it replaced.
    pub async fn put_object(
        &self,
        record: ObjectRecord,
        condition: PutCondition,
    ) -> Result<Vec<FileId>, MetaError> {
        match self.call(MetaOp::PutObject(record, condition)).await? {
            MetaReply::ObjectPut(replaced) => Ok(replaced),
            other => Err(unexpected(other)),
        }
    }

    /// Looks an object up (`NoSuchBucket` if the bucket is missing); an inline object's bytes are
    /// read only `with_bytes` (a GET or a copy), else its body is `ObjectBody::InlineUnread`.
    pub async fn get_object(
        &self,
        bucket: String,
        key: String,
        with_bytes: bool,
    ) -> Result<Option<ObjectRecord>, MetaError> {
        match self
            .call(MetaOp::GetObject {
                bucket,
                key,
                with_bytes,
            })
            .await?
        {
            MetaReply::Object(object) => Ok(object),
            other => Err(unexpected(other)),
        }
    }

    /// One page of a listing.
    pub async fn list_objects(&self, query: ListQuery) -> Result<Listing, MetaError> {
        match self.call(MetaOp::ListObjects(query)).await? {
            MetaReply::Listing(listing) => Ok(listing),
            other => Err(unexpected(other)),
        }
    }

    /// Deletes many keys in one round trip; returns the files to remove.
    pub async fn delete_batch(
        &self,
        bucket: String,
        keys: Vec<String>,
    ) -> Result<Vec<FileId>, MetaError> {
        match self.call(MetaOp::DeleteBatch { bucket, keys }).await? {
            MetaReply::BatchDeleted(files) => Ok(files),
            other => Err(unexpected(other)),
        }
    }

    /// Deletes an object; returns the file it referenced.
    pub async fn delete_object(
        &self,
        bucket: String,
        key: String,
    ) -> Result<Vec<FileId>, MetaError> {
        match self.call(MetaOp::DeleteObject { bucket, key }).await? {
            MetaReply::ObjectDeleted(removed) => Ok(removed),
            other => Err(unexpected(other)),
        }
    }
}

impl MetaClient {
    /// Starts a multipart upload.
    pub async fn create_upload(&self, upload: UploadRecord) -> Result<(), MetaError> {
        match self.call(MetaOp::CreateUpload(upload)).await? {
            MetaReply::UploadCreated => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Looks an upload up.
    pub async fn get_upload(&self, upload_id: String) -> Result<Option<UploadRecord>, MetaError> {
        match self.call(MetaOp::GetUpload { upload_id }).await? {
            MetaReply::Upload(upload) => Ok(upload),
            other => Err(unexpected(other)),
        }
    }

    /// Records a part; returns the file of the part it replaced.
    pub async fn put_part(&self, part: PartRecord) -> Result<Vec<FileId>, MetaError> {
        match self.call(MetaOp::PutPart(part)).await? {
            MetaReply::PartPut(replaced) => Ok(replaced),
            other => Err(unexpected(other)),
        }
    }

    /// Completes an upload; returns the object and the files to delete.
    pub async fn complete_upload(
        &self,
        completion: Completion,
    ) -> Result<(ObjectRecord, Vec<FileId>), MetaError> {
        match self.call(MetaOp::CompleteUpload(completion)).await? {
            MetaReply::UploadCompleted { record, obsolete } => Ok((*record, obsolete)),
            other => Err(unexpected(other)),
        }
    }

    /// Aborts an upload; returns its part files.
    pub async fn abort_upload(&self, upload_id: String) -> Result<Vec<FileId>, MetaError> {
        match self.call(MetaOp::AbortUpload { upload_id }).await? {
            MetaReply::UploadsDropped(files) => Ok(files),
            other => Err(unexpected(other)),
        }
    }

    /// Reaps uploads started before the cut-off; returns their part files.
    pub async fn reap_uploads(&self, created_before_ms: i64) -> Result<Vec<FileId>, MetaError> {
        match self.call(MetaOp::ReapUploads { created_before_ms }).await? {
            MetaReply::UploadsDropped(files) => Ok(files),
            other => Err(unexpected(other)),
        }
    }

    /// One page of parts.
    pub async fn list_parts(&self, query: PartsQuery) -> Result<PartsPage, MetaError> {
        match self.call(MetaOp::ListParts(query)).await? {
            MetaReply::Parts(page) => Ok(page),
            other => Err(unexpected(other)),
        }
    }

    /// One page of uploads.
    pub async fn list_uploads(&self, query: UploadsQuery) -> Result<UploadsPage, MetaError> {
        match self.call(MetaOp::ListUploads(query)).await? {
            MetaReply::Uploads(page) => Ok(page),
            other => Err(unexpected(other)),
        }
    }
}

fn unexpected(reply: MetaReply) -> MetaError {
    // A reply of the wrong kind is a programming error in the store; fail the request, not the core.
    tracing::error!(reply = ?reply, "metadata reply does not match its request");
    MetaError::Closed
}
