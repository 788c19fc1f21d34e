//! The S3 API: addressing, routing, auth, operations, and the pipeline that joins them.

pub mod access;
pub mod auth;
pub mod conditions;
pub mod directory;
pub mod error;
pub mod form;
pub mod object_cache;
pub mod ops;
pub mod path;
pub mod payload;
pub mod pipeline;
pub mod post_policy;
pub mod router;
pub mod time;
pub mod xml;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use crate::config::Config;
use crate::http::ResponseHead;
use crate::meta::MetaClient;
use crate::storage::{InlineBytes, Layout, ObjectReader};

pub use error::{S3Error, S3ErrorCode, S3Result};
pub use router::Operation;

/// What one core needs to serve S3 requests; nothing in it is shared with other cores except the
/// read-only config and the metadata queue.
pub struct S3Context {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Data dir layout.
    pub layout: Rc<Layout>,
    /// Metadata client.
    pub meta: MetaClient,
    /// This core's signing-key cache.
    pub key_cache: RefCell<auth::SigningKeyCache>,
    /// The bootstrap admin, built once.
    pub admin: Rc<directory::User>,
    /// This core's users (see `directory`).
    pub users: RefCell<directory::UserCache>,
    /// This core's bucket records (see `directory`).
    pub buckets: RefCell<directory::BucketCache>,
    /// This core's object records (see `object_cache`).
    pub objects: RefCell<object_cache::ObjectCache>,
    /// Index of this core (for logs and request ids).
    pub core_index: usize,
    /// Every core's metrics (this core writes only its own entry).
    pub metrics: Arc<crate::obs::metrics::Registry>,
    /// Set once SIGTERM/SIGINT arrived: finish in-flight requests, take no new ones.
    pub shutdown: Arc<std::sync::atomic::AtomicBool>,
    /// Notified (on this core) when `shutdown` is set, so idle connections need no timers.
    pub shutdown_event: event_listener::Event,
    request_counter: Cell<u64>,
    request_id_salt: u32,
}

impl S3Context {
    /// A context for core `core_index`.
    pub fn new(
        config: Arc<Config>,
        layout: Rc<Layout>,
        meta: MetaClient,
        core_index: usize,
        metrics: Arc<crate::obs::metrics::Registry>,
        shutdown: Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        let admin = Rc::new(directory::bootstrap_user(&config.credentials));
        S3Context {
            metrics,
            shutdown,
            shutdown_event: event_listener::Event::new(),
            config,
            layout,
            meta,
            key_cache: RefCell::new(auth::SigningKeyCache::new()),
            admin,
            users: RefCell::default(),
            buckets: RefCell::default(),
            objects: RefCell::default(),
            core_index,
            request_counter: Cell::new(0),
            request_id_salt: fastrand::u32(..),
        }
    }

    /// This core's metrics.
    pub fn core_metrics(&self) -> &crate::obs::metrics::CoreMetrics {
        &self.metrics.cores[self.core_index]
    }

    /// Whether shutdown has begun.
    pub fn shutting_down(&self) -> bool {
        self.shutdown.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Resolves once shutdown has begun.
    pub async fn wait_for_shutdown(&self) {
        loop {
            if self.shutting_down() {
                return;
            }
            let listener = self.shutdown_event.listen();
            // Checked again after registering, so a notification in between is not missed.
            if self.shutting_down() {
                return;
            }
            listener.await;
        }
    }

    /// A request id unique across cores and restarts (core, per-start salt, counter).
    pub fn next_request_id(&self) -> String {
        let count = self.request_counter.get() + 1;
        self.request_counter.set(count);
        format!(
            "{:02X}{:08X}{:06X}",
            self.core_index & 0xff,
            self.request_id_salt,
            count & 0xff_ffff
        )
    }
}

/// The body of a response.
pub enum ResponseBody {
    /// No body.
    Empty,
    /// A small body in memory (XML).
    Bytes(Vec<u8>),
    /// These bytes of an inline object (shared with the lookup, not copied).
    Inline(InlineBytes, std::ops::Range<usize>),
    /// An object's bytes streamed from disk.
    Object(ObjectReader),
    /// A HEAD response: the length the GET would have, no bytes.
    HeadOnly(u64),
}

impl ResponseBody {
    /// The Content-Length to announce.
    pub fn content_length(&self) -> u64 {
        match self {
            ResponseBody::Empty => 0,
            ResponseBody::Bytes(bytes) => bytes.len() as u64,
            ResponseBody::Inline(_, range) => range.len() as u64,
            ResponseBody::Object(reader) => reader.remaining(),
            ResponseBody::HeadOnly(length) => *length,
        }
    }
}

/// A response from an operation.
pub struct S3Response {
    /// Status and headers.
    pub head: ResponseHead,
    /// Body.
    pub body: ResponseBody,
}

impl S3Response {
    /// A response with `status` and no body.
    pub fn empty(status: u16) -> Self {
        S3Response {
            head: ResponseHead::new(status),
            body: ResponseBody::Empty,
        }
    }

    /// A 200 response with an XML body.
    pub fn xml(document: Vec<u8>) -> Self {
        let mut head = ResponseHead::new(200);
        head.header("Content-Type", "application/xml");
        S3Response {
            head,
            body: ResponseBody::Bytes(document),
        }
    }
}
