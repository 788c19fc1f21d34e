//! Exact admin paths first (unauthenticated GET only, so a bucket named `health` still works via
//! signed S3 requests), everything else to the S3 pipeline.

use crate::http::{Method, RequestBody, RequestHead};
use crate::s3::{pipeline, S3Context, S3Response};

fn is_admin_request(head: &RequestHead) -> bool {
    head.method == Method::Get
        && crate::admin::ADMIN_PATHS.contains(&head.path.as_str())
        && head.query.is_empty()
        && head.header("authorization").is_none()
}

/// Handles one request.
pub async fn handle(
    context: &S3Context,
    head: &RequestHead,
    body: &mut RequestBody<'_>,
) -> S3Response {
    if is_admin_request(head) {
        // Probes and scrapes are not S3 traffic: no request log at info, no request metrics.
        return crate::admin::handle(context, &head.path).await;
    }
    pipeline::handle(context, head, body).await
}
