//! Metadata: the records, the typed command protocol (`MetaCommand`, one reply type each), the
//! client cores use, and the SQLite threads that serve it: the writer, which runs every command that
//! writes in group commits, and the reader, which runs read-only commands on a read-only
//! connection beside it.

pub mod bucket_column;
pub mod bucket_encryption;
pub mod bucket_policy;
pub mod bucket_rows;
pub mod buckets;
pub mod client;
pub mod command;
pub mod cors;
pub mod file_references;
pub mod generations;
pub mod kept_map;
pub mod lifecycle;
pub mod lifecycle_step;
pub mod listing;
pub mod lock_commands;
pub mod multipart;
pub mod object_lock;
pub mod object_rows;
pub mod objects;
pub mod schema;
pub mod store;
pub mod tag_commands;
pub mod thread;
pub mod tier_rows;
pub mod tier_scan;
pub mod tier_uploads;
pub mod upload_listing;
pub mod upload_reaper;
pub mod usage;
pub mod users;
pub mod version_id;
pub mod version_listing;
pub mod version_lookup;
pub mod version_rows;
pub mod version_staging;
pub mod versions;

pub use bucket_encryption::{BucketEncryption, PutBucketEncryption};
pub use bucket_policy::{PublicAccessBlock, PutBucketPolicy, PutPublicAccessBlock};
pub use buckets::{CreateBucket, DeleteBucket, GetBucket, ListBuckets, PutBucketAcl};
pub use client::MetaClient;
pub use command::{Changes, MetaCommand};
pub use cors::{CorsConfiguration, CorsRule, PutBucketCors};
pub use generations::{Generations, ObjectStripe};
pub use lifecycle::{LifecycleStep, PutBucketLifecycle};
pub use lifecycle_step::LifecycleProgress;
pub use listing::{ListObjects, ListQuery, Listing};
pub use lock_commands::{PutObjectLegalHold, PutObjectLockConfiguration, PutObjectRetention};
pub use multipart::{AbortUpload, CompleteUpload, CreateUpload, GetUpload, ListParts, PutPart};
pub use object_lock::{
    check_removable, BucketObjectLock, ObjectLock, ObjectLockMode, Retention, RetentionPeriod,
};
pub use objects::{BatchDeleted, DeleteBatch, DeleteObject, GetObject, PutObject, PutObjectAcl};
pub use store::MetaStore;
pub use tag_commands::{GetBucketTagging, PutBucketTagging, PutObjectTagging};
pub use tier_rows::{
    CommitMove, FindRemoteReferences, GetBucketTier, GetNodeId, ListBucketTiers, ListTierGarbage,
    NodeIdentity, PutBucketTier, RemoveTierGarbage, RenewIncarnation, TierGarbage,
};
pub use tier_scan::{
    ListLocalVersions, ListMoveCandidates, MoveCandidate, MoveCandidates, TierPlacement,
    VersionTable,
};
pub use tier_uploads::{
    ForgetTierUpload, ListTierParts, ListTierUploads, RecordTierPart, RecordTierUpload, SentPart,
    TierUpload,
};
pub use upload_listing::ListUploads;
pub use upload_reaper::{ReapUploads, ReapedUploads};
pub use usage::{BucketFigures, BucketQuota, BucketUsage, GetBucketFigures, PutBucketQuota};
pub use users::{AddUser, GetUser, ListUsers, RemoveUser, UpdateUser, UserLookup, UserRecord};
pub use version_id::{VersionId, VersionSelector, NULL_VERSION_ID};
pub use version_listing::{ListObjectVersions, VersionEntry, VersionsPage, VersionsQuery};
pub use version_lookup::{GetObjectVersion, VersionLookup};
pub use versions::{DeletedVersion, PutBucketVersioning, VersioningStatus};

use crate::object_bytes::{FileId, InlineBytes, RemoteObject, StoredBytes};

/// A bucket as the metadata knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRecord {
    /// Bucket name.
    pub name: String,
    /// Access key of the owner.
    pub owner: String,
    /// Region given at creation (LocationConstraint), `us-east-1` when none.
    pub region: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Encoded access control list; `None` is S3's default (`private`: the owner's FULL_CONTROL).
    pub acl: Option<String>,
    /// Versioning: `None` until it is first enabled (S3's "unversioned"), then Enabled or
    /// Suspended (never back to `None`).
    pub versioning: Option<VersioningStatus>,
    /// Object Lock, once enabled (at creation, or later on a versioning-enabled bucket); never
    /// disabled.
    pub object_lock: Option<BucketObjectLock>,
    /// CORS rules (PutBucketCors), if any.
    pub cors: Option<CorsConfiguration>,
    /// The bucket policy, compiled (PutBucketPolicy), if any.
    pub policy: Option<std::sync::Arc<crate::policy::BucketPolicy>>,
    /// PublicAccessBlock flags, if configured.
    pub public_access_block: Option<PublicAccessBlock>,
    /// Lifecycle rules (PutBucketLifecycleConfiguration), if any.
    pub lifecycle: Option<std::sync::Arc<crate::lifecycle::LifecycleConfiguration>>,
    /// Default encryption (PutBucketEncryption), if any.
    pub encryption: Option<BucketEncryption>,
}

impl BucketRecord {
    /// A bucket as CreateBucket makes it: nothing configured, and — when made with Object Lock —
    /// versioning on for good (S3 User Guide, Object Lock: it cannot be suspended).
    pub fn created(
        name: String,
        owner: String,
        region: String,
        created_ms: i64,
        acl: Option<String>,
        object_lock: bool,
    ) -> Self {
        BucketRecord {
            name,
            owner,
            region,
            created_ms,
            acl,
            versioning: object_lock.then_some(VersioningStatus::Enabled),
            object_lock: object_lock.then(BucketObjectLock::default),
            cors: None,
            policy: None,
            public_access_block: None,
            lifecycle: None,
            encryption: None,
        }
    }
}

/// An object (one version of a key) as the metadata knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    /// Bucket name.
    pub bucket: String,
    /// Object key (UTF-8, up to 1024 bytes).
    pub key: String,
    /// Where its bytes are.
    pub body: ObjectBody,
    /// Size in bytes.
    pub size_bytes: u64,
    /// ETag without quotes (hex MD5 for single-part objects).
    pub etag: String,
    /// Last-Modified, milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
    /// Content-Type given at upload.
    pub content_type: Option<String>,
    /// Other stored headers (Cache-Control, Content-Disposition, …, `x-amz-meta-*`), names lower-case.
    pub headers: Vec<(String, String)>,
    /// Flexible checksum as `StoredChecksum::encode` text (`ALGORITHM:TYPE:base64`).
    pub checksum: Option<String>,
    /// Access key of the object's owner.
    pub owner: String,
    /// Encoded access control list; `None` is S3's default (`private`).
    pub acl: Option<String>,
    /// The version's id; `None` is the `null` version (written while versioning was off or
    /// suspended). Set by the metadata thread when it commits the write.
    pub version_id: Option<String>,
    /// Its retention and legal hold (Object Lock).
    pub lock: ObjectLock,
    /// Its tag set, URL-encoded as `x-amz-tagging` carries it (`None`: no tags).
    pub tags: Option<String>,
}

/// Where an object's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectBody {
    /// One object file.
    File(FileId),
    /// In the metadata database, next to the row (small objects).
    Inline(InlineBytes),
    /// Inline, but looked up without its bytes (HEAD, attributes, ACLs).
    InlineUnread,
    /// The files of a completed multipart upload's parts, in order.
    Parts(Vec<PartExtent>),
    /// Moved to a remote tier (issue 24): one upstream object holding every byte.
    Remote {
        /// Which tier, and the object's name there.
        object: RemoteObject,
        /// The parts it was uploaded in (sizes and checksums; their files are gone), for a
        /// multipart object; empty for a single-part one.
        parts: Vec<PartExtent>,
    },
}

/// One part of a multipart object: its file, size and checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartExtent {
    /// File holding the part's bytes.
    pub file_id: FileId,
    /// Size of the part.
    pub size_bytes: u64,
    /// The part's flexible checksum (base64, the upload's algorithm), if it had one.
    pub checksum: Option<String>,
}

impl From<StoredBytes> for ObjectBody {
    fn from(stored: StoredBytes) -> Self {
        match stored {
            StoredBytes::File(id) => ObjectBody::File(id),
            StoredBytes::Inline(bytes) => ObjectBody::Inline(bytes),
        }
    }
}

impl ObjectRecord {
    /// Every local file the object's bytes live in, in order (none for an inline or a moved
    /// object).
    pub fn files(&self) -> Vec<FileId> {
        match &self.body {
            ObjectBody::File(id) => vec![*id],
            ObjectBody::Inline(_) | ObjectBody::InlineUnread | ObjectBody::Remote { .. } => {
                Vec::new()
            }
            ObjectBody::Parts(parts) => parts.iter().map(|part| part.file_id).collect(),
        }
    }

    /// The parts of a multipart object; empty for a single-part one.
    pub fn parts(&self) -> &[PartExtent] {
        match &self.body {
            ObjectBody::Parts(parts) | ObjectBody::Remote { parts, .. } => parts,
            ObjectBody::File(_) | ObjectBody::Inline(_) | ObjectBody::InlineUnread => &[],
        }
    }

    /// Sizes of the object's parts in order; a single-part object is its one part (borrowed:
    /// every GET asks).
    pub fn part_sizes(&self) -> std::borrow::Cow<'_, [u64]> {
        match self.parts() {
            [] => std::borrow::Cow::Borrowed(std::slice::from_ref(&self.size_bytes)),
            parts => parts.iter().map(|part| part.size_bytes).collect(),
        }
    }

    /// `(file, size)` of each local piece of a file-backed object, in order (none for inline or
    /// moved objects).
    pub fn extents(&self) -> Vec<PartExtent> {
        match &self.body {
            ObjectBody::File(id) => vec![PartExtent {
                file_id: *id,
                size_bytes: self.size_bytes,
                checksum: None,
            }],
            ObjectBody::Inline(_) | ObjectBody::InlineUnread | ObjectBody::Remote { .. } => {
                Vec::new()
            }
            ObjectBody::Parts(parts) => parts.clone(),
        }
    }
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    /// Object key.
    pub key: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// ETag without quotes.
    pub etag: String,
    /// Last-Modified, milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
    /// Access key of the owner.
    pub owner: String,
    /// Storage class when not STANDARD.
    pub storage_class: Option<String>,
}

/// What a conditional delete requires of the key's current object (every part that is set must
/// hold), checked inside the metadata transaction so it is atomic with respect to every other
/// write of the key. An absent object is deleted anyway (there is nothing to protect).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteCondition {
    /// The ETags (unquoted) one of which the object must have; `*` matches any. Empty: none can
    /// match (an If-Match of only weak ETags, which strong comparison never matches).
    pub etags: Option<Vec<String>>,
    /// The Last-Modified second (since the Unix epoch) the object must have.
    pub last_modified_seconds: Option<i64>,
    /// The size in bytes the object must have.
    pub size_bytes: Option<u64>,
}

impl DeleteCondition {
    /// Whether nothing is required.
    pub fn is_empty(&self) -> bool {
        self.etags.is_none() && self.last_modified_seconds.is_none() && self.size_bytes.is_none()
    }

    /// Whether an object with these facts may be deleted.
    pub fn holds(&self, etag: &str, last_modified_ms: i64, size_bytes: u64) -> bool {
        self.etags
            .as_ref()
            .is_none_or(|wanted| wanted.iter().any(|wanted| wanted == "*" || wanted == etag))
            && self
                .last_modified_seconds
                .is_none_or(|wanted| wanted == last_modified_ms.div_euclid(1000))
            && self.size_bytes.is_none_or(|wanted| wanted == size_bytes)
    }
}

/// A precondition a conditional write checks inside the metadata transaction, so it is atomic
/// with respect to every other write of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutCondition {
    /// Unconditional.
    None,
    /// `If-None-Match: *`: only if the key does not exist.
    IfAbsent,
    /// `If-None-Match: <etag>`: unless the current ETag is this one.
    IfNoneMatch(String),
    /// `If-Match: *`: only if the key exists (else NoSuchKey).
    IfExists,
    /// `If-Match: <etag>`: only if the current ETag is this one (NoSuchKey if absent).
    IfMatch(String),
}

/// Why a metadata request failed.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The queue to the metadata thread stayed full.
    #[error("metadata queue full")]
    QueueFull,
    /// The metadata thread has stopped.
    #[error("metadata thread closed")]
    Closed,
    /// The bucket does not exist.
    #[error("no such bucket")]
    NoSuchBucket,
    /// DeleteBucket on a bucket with objects.
    #[error("bucket not empty")]
    BucketNotEmpty,
    /// CreateBucket on a name another owner holds.
    #[error("bucket exists")]
    BucketExists {
        /// Its owner.
        owner: String,
    },
    /// No upload with that id (never started, completed or aborted).
    #[error("no such upload")]
    NoSuchUpload,
    /// A completion names a part that was not uploaded or whose ETag differs.
    #[error("invalid part {0}")]
    InvalidPart(u32),
    /// A completion lists parts out of ascending order.
    #[error("invalid part order")]
    InvalidPartOrder,
    /// A part other than the last is smaller than the minimum.
    #[error("part {0} too small")]
    EntityTooSmall(u32),
    /// The completed object would exceed the configured maximum size.
    #[error("object too large")]
    EntityTooLarge,
    /// A conditional write's precondition did not hold.
    #[error("precondition failed")]
    PreconditionFailed,
    /// Bucket quota reached.
    #[error("too many buckets")]
    TooManyBuckets,
    /// The write would leave its bucket beyond the bucket's quota (`usage::within_quota`).
    #[error("bucket quota exceeded")]
    QuotaExceeded,
    /// The object does not exist.
    #[error("no such key")]
    NoSuchKey,
    /// The version named does not exist (or is a delete marker where an object is needed).
    #[error("no such version")]
    NoSuchVersion,
    /// The version is under a retention or legal hold that forbids the change.
    #[error("object locked")]
    ObjectLocked,
    /// Object Lock asked of a bucket that does not have it.
    #[error("bucket has no object lock configuration")]
    NoObjectLockConfiguration,
    /// The bucket's state forbids the change (Object Lock on a bucket without versioning,
    /// versioning suspended under Object Lock).
    #[error("invalid bucket state")]
    InvalidBucketState,
    /// A checksum the client gave does not match the data.
    #[error("bad digest")]
    BadDigest,
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(String),
}

impl MetaError {
    /// The message without the variant's prefix (an SQLite error's own text), for wrapping again.
    pub fn detail(&self) -> String {
        match self {
            MetaError::Sqlite(message) => message.clone(),
            other => other.to_string(),
        }
    }
}

impl From<rusqlite::Error> for MetaError {
    fn from(error: rusqlite::Error) -> Self {
        MetaError::Sqlite(error.to_string())
    }
}
