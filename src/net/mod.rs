//! Sockets: per-core SO_REUSEPORT listeners, TLS, and the connection loop (keep-alive,
//! pipelining, 100-continue, deadlines).

pub mod connection;
pub mod listener;
pub mod tls;

pub use listener::{bind_listeners, serve, CoreListeners};

use crate::http::{RequestBody, RequestHead, Response};

/// What a connection serves: one request at a time, its body streamed from the socket. `net`
/// knows only this trait; `service` implements it (admin paths and S3).
// Futures of a glommio core never cross threads, so the trait's async fns need not be Send.
#[allow(async_fn_in_trait)]
pub trait Service {
    /// Answers one request; whatever of `body` it leaves unread is drained or the connection
    /// closed by the caller.
    async fn handle(&self, head: &RequestHead, body: &mut RequestBody<'_>) -> Response;
}
