//! What every connection serves: exact admin paths first (unauthenticated GET only, so a bucket
//! named `health` still works via signed S3 requests), then the admin API (`/_ringstore/…`, a
//! prefix no bucket name can take), everything else to the S3 pipeline.

use std::rc::Rc;

use crate::core_state::CoreState;
use crate::http::{Method, RequestBody, RequestHead, Response};
use crate::s3::{pipeline, S3Context};

/// Every S3 operation's name, in metrics order (`s3::Operation::index()`): what the runtime sizes
/// the metrics registry with.
pub const OPERATION_NAMES: &[&str] = crate::s3::Operation::NAMES;

fn is_admin_request(head: &RequestHead) -> bool {
    head.method == Method::Get
        && crate::admin::ADMIN_PATHS.contains(&head.path())
        && head.query().is_empty()
        && head.header("authorization").is_none()
}

/// One core's service: the S3 layer over the core's state.
pub struct Service {
    s3: S3Context,
    /// What the running lifecycle pass did (core 0 drives it).
    lifecycle_tally: crate::s3::housekeeping::PassTally,
}

impl Service {
    /// The service of `core`.
    pub fn new(core: Rc<CoreState>) -> Self {
        Service {
            s3: S3Context::new(core),
            lifecycle_tally: Default::default(),
        }
    }

    /// Starts a run of the multipart reaper: uploads older than `--multipart-max-age` (the runtime
    /// starts one periodically on one core, beside requests, and steps it).
    pub fn start_reap(&self) -> crate::s3::housekeeping::ReapRun {
        crate::s3::housekeeping::ReapRun::new(&self.s3.core)
    }

    /// Runs one step of the reaper's `run`; answers the pause before the next, `None` when done.
    pub async fn step_reap(
        &self,
        run: &mut crate::s3::housekeeping::ReapRun,
    ) -> Option<std::time::Duration> {
        crate::s3::housekeeping::step_reap(&self.s3.core, run).await
    }

    /// Runs one step of the lifecycle pass; answers how long to wait before the next one.
    pub async fn step_lifecycle(&self) -> std::time::Duration {
        crate::s3::housekeeping::step_lifecycle(&self.s3.core, &self.lifecycle_tally).await
    }
}

impl crate::net::Service for Service {
    async fn handle(&self, head: &RequestHead, body: &mut RequestBody<'_>) -> Response {
        if is_admin_request(head) {
            // Probes and scrapes are not S3 traffic: no request log at info, no request metrics.
            return crate::admin::handle(&self.s3.core, head.path()).await;
        }
        if crate::admin_api::is_admin_request(head, &self.s3.config.domains) {
            // Boxed: its future is larger than an S3 request's, which every request would carry.
            return Box::pin(crate::admin_api::handle(&self.s3, head, body)).await;
        }
        pipeline::handle(&self.s3, head, body).await
    }
}
