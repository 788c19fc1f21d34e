//! Operator endpoints: `/healthz` (alive), `/readyz` (metadata answers, data dir writable),
//! `/health` (both as JSON, with the version) and `/metrics` (Prometheus text).

use crate::core_state::CoreState;
use crate::http::{Response, ResponseBody, ResponseHead};

/// The admin paths, matched exactly.
pub const ADMIN_PATHS: &[&str] = &["/healthz", "/readyz", "/health", "/metrics"];

fn text(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
    let mut head = ResponseHead::new(status);
    head.header("Content-Type", content_type);
    head.header("Cache-Control", "no-store");
    Response {
        head,
        body: ResponseBody::Bytes(body.into()),
    }
}

/// Whether the metadata thread answers and the data dir takes a durable write.
async fn readiness(context: &CoreState) -> (bool, bool) {
    let metadata = context.meta.answers().await;
    let data_dir = match crate::storage::probe_writable(&context.layout).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(error = %error, "data dir is not writable");
            false
        }
    };
    (metadata, data_dir)
}

/// Answers an admin path.
pub async fn handle(context: &CoreState, path: &str) -> Response {
    match path {
        "/healthz" => text(200, "text/plain", "ok\n"),
        "/readyz" => {
            let (metadata, data_dir) = readiness(context).await;
            if metadata && data_dir {
                text(200, "text/plain", "ready\n")
            } else {
                text(
                    503,
                    "text/plain",
                    format!("not ready: metadata={metadata} data_dir={data_dir}\n"),
                )
            }
        }
        "/health" => {
            let (metadata, data_dir) = readiness(context).await;
            let ok = metadata && data_dir;
            let body = format!(
                "{{\"status\":\"{}\",\"version\":\"{}\",\"checks\":{{\"metadata\":{metadata},\"data_dir\":{data_dir}}}}}\n",
                if ok { "ok" } else { "degraded" },
                env!("CARGO_PKG_VERSION")
            );
            text(if ok { 200 } else { 503 }, "application/json", body)
        }
        _ => text(
            200,
            "text/plain; version=0.0.4",
            context.metrics.render(context.meta.queue_depth()),
        ),
    }
}
