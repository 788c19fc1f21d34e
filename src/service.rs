//! Exact admin paths first (unauthenticated GET only, so a bucket named `healthz` still works via
//! S3), everything else to the S3 pipeline.

use crate::http::{Method, RequestBody, RequestHead, ResponseHead};
use crate::s3::{pipeline, ResponseBody, S3Context, S3Response};

/// Liveness path.
pub const HEALTHZ_PATH: &str = "/healthz";

fn is_admin_request(head: &RequestHead) -> bool {
    head.method == Method::Get
        && head.path == HEALTHZ_PATH
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
        let mut response_head = ResponseHead::new(200);
        response_head.header("Content-Type", "text/plain");
        return S3Response {
            head: response_head,
            body: ResponseBody::Bytes(b"ok\n".to_vec()),
        };
    }
    pipeline::handle(context, head, body).await
}
