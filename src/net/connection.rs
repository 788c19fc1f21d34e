//! The connection loop: read a head within its deadline, hand the streamed body to the service,
//! write the response, and keep the connection for the next (possibly pipelined) request; over
//! plain TCP or, after a TLS handshake, over TLS.

use std::cell::RefCell;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures_lite::AsyncWriteExt;
use futures_rustls::server::TlsStream;
use glommio::net::TcpStream;
use rustls::ServerConfig;

use super::tls::{self, Handshake};
use super::Service;
use crate::core_state::CoreState;
use crate::http::head::parse_head_within;
use crate::http::BodyFraming;
use crate::http::{
    HeadError, HeadParse, Method, Persistence, ReadBuffer, RequestBody, RequestHead, Response,
    ResponseBody, ResponseHead, Transport,
};
use crate::limits::{BODY_DRAIN_BYTES_MAX, CONNECTION_READ_BUFFER_BYTES, IDLE_READ_BYTES_MAX};

/// Time a client may take to accept response bytes before the connection is dropped.
const RESPONSE_WRITE_STALL_TIME_MAX_MS: u64 = 30_000;

/// Time a closing connection gets to send its TLS close_notify (or TCP FIN) before it is dropped.
const CLOSE_TIME_MAX_MS: u64 = 1_000;

/// Responses up to this size are copied behind the head so both leave in one write.
const COALESCE_BODY_BYTES_MAX: usize = 64 * 1024;

enum HeadOutcome {
    Request(RequestHead),
    Closed,
    TimedOut,
    Rejected(HeadError),
}

/// A stream one connection is served on: the TCP socket itself, or TLS over it.
pub trait Stream: Transport {
    /// Whether this is TLS. Its requests are `aws:SecureTransport`, and one read may span
    /// several socket reads (a record arrives in pieces; records may carry no HTTP bytes at all),
    /// so the socket's per-read timeout alone does not bound it and head and idle deadlines need
    /// a timer of their own.
    const TLS: bool;

    /// Sets how long one socket read may wait before it fails with `TimedOut` (glommio's socket
    /// timeout; under TLS the TCP socket's).
    fn set_read_timeout(&mut self, timeout: Duration);

    /// Sends what of `head` then `body` the socket takes now, in one system call without waiting
    /// (a gather write, so a small body is not first copied behind the head): the bytes sent,
    /// 0 when it took nothing or where there is no such call (TLS, which encrypts into records
    /// first); the caller writes the rest the usual way.
    fn send_now(&mut self, head: &[u8], body: &[u8]) -> usize;
}

impl Stream for TcpStream {
    const TLS: bool = false;

    fn set_read_timeout(&mut self, timeout: Duration) {
        let _ = TcpStream::set_read_timeout(self, Some(timeout));
    }

    fn send_now(&mut self, head: &[u8], body: &[u8]) -> usize {
        let parts = [io::IoSlice::new(head), io::IoSlice::new(body)];
        // SAFETY: msghdr is plain data, all zeroes an empty value; set field by field, as its
        // private padding (on some libcs) rules out a struct literal.
        let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
        // IoSlice is laid out as iovec on Unix; sendmsg only reads through the pointer.
        message.msg_iov = parts.as_ptr() as *mut libc::iovec;
        message.msg_iovlen = parts.len() as _;
        // SAFETY: the socket is this stream's and open; `message` points at `parts`, borrowed
        // for the call, and names no address or control data.
        let sent = unsafe {
            libc::sendmsg(
                std::os::fd::AsRawFd::as_raw_fd(self),
                &message,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        // An error (EAGAIN, or a reset the next write reports again) is "nothing sent".
        usize::try_from(sent).unwrap_or(0)
    }
}

impl Stream for TlsStream<TcpStream> {
    const TLS: bool = true;

    fn set_read_timeout(&mut self, timeout: Duration) {
        let _ = TcpStream::set_read_timeout(self.get_mut().0, Some(timeout));
    }

    fn send_now(&mut self, _head: &[u8], _body: &[u8]) -> usize {
        0
    }
}

/// `future`'s output, or `None` once `limit` passed.
async fn within<T>(limit: Duration, future: impl std::future::Future<Output = T>) -> Option<T> {
    futures_lite::future::or(async { Some(future.await) }, async {
        glommio::timer::sleep(limit).await;
        None
    })
    .await
}

/// Serves one connection until it closes, errs, or idles out; with `tls`, after its handshake,
/// which must finish within the head deadline (`header_timeout_ms`).
pub async fn serve(
    stream: TcpStream,
    tls: Option<&Arc<ServerConfig>>,
    context: &CoreState,
    service: &impl Service,
) {
    let metrics = context.core_metrics();
    metrics.connection_opened(true);
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok().map(|address| address.ip());
    let _ = stream.set_write_timeout(Some(Duration::from_millis(
        RESPONSE_WRITE_STALL_TIME_MAX_MS,
    )));
    match tls {
        None => serve_requests(stream, peer, context, service).await,
        // Boxed: a plain connection's task should not carry a handshake's state.
        Some(config) => Box::pin(serve_tls(stream, config, peer, context, service)).await,
    }
    metrics.connection_opened(false);
}

/// Completes the handshake within the head deadline (giving up at shutdown), then serves the
/// connection's requests over TLS.
async fn serve_tls(
    stream: TcpStream,
    config: &Arc<ServerConfig>,
    peer: Option<std::net::IpAddr>,
    context: &CoreState,
    service: &impl Service,
) {
    let metrics = context.core_metrics();
    let deadline = Duration::from_millis(context.config.header_timeout_ms);
    // Bounded by the head deadline, and given up at shutdown like an idle connection.
    let handshake = within(deadline, tls::accept(stream, config.clone()));
    let shutdown = async {
        context.wait_for_shutdown().await;
        None
    };
    match futures_lite::future::or(async { Some(handshake.await) }, shutdown).await {
        Some(Some(Handshake::Done(stream))) => {
            serve_requests(*stream, peer, context, service).await
        }
        Some(Some(Handshake::Failed(error))) => {
            metrics.tls_handshake_failed();
            tracing::debug!(peer = ?peer, error = %error, "TLS handshake failed");
        }
        Some(None) => {
            metrics.tls_handshake_failed();
            tracing::debug!(peer = ?peer, "TLS handshake timed out");
        }
        Some(Some(Handshake::PlainHttp(mut stream))) => {
            tracing::debug!(peer = ?peer, "plain HTTP on the TLS port: answered 400");
            let _ = write_plain_text(&mut stream, 400, tls::PLAIN_HTTP_MESSAGE).await;
        }
        Some(Some(Handshake::Abandoned)) | None => {}
    }
}

async fn serve_requests<S: Stream>(
    mut stream: S,
    peer: Option<std::net::IpAddr>,
    context: &CoreState,
    service: &impl Service,
) {
    let mut buffer =
        ReadBuffer::with_idle_capacity(CONNECTION_READ_BUFFER_BYTES, IDLE_READ_BYTES_MAX);
    // Allocated by the first response, not by an idle connection.
    let mut output = Vec::new();
    loop {
        let mut head = match read_head(&mut stream, &mut buffer, context).await {
            HeadOutcome::Request(head) => head,
            HeadOutcome::Closed | HeadOutcome::TimedOut => {
                // TLS says goodbye with close_notify, which strict clients expect.
                let _ = within(Duration::from_millis(CLOSE_TIME_MAX_MS), stream.close()).await;
                return;
            }
            HeadOutcome::Rejected(error) => {
                let _ = write_rejection(&mut stream, &error).await;
                return;
            }
        };
        head.peer = peer;
        head.secure = S::TLS;
        stream.set_read_timeout(Duration::from_millis(context.config.body_timeout_ms));
        let mut body =
            RequestBody::new(&mut stream, &mut buffer, head.framing, head.expect_continue);
        // Boxed: the request's state machine is large, and an idle connection should not carry it.
        let response = Box::pin(service.handle(&head, &mut body)).await;
        // A small unread rest is drained after answering so the connection survives; a large
        // or unknown one is not read at all: the answer says Connection: close.
        let reusable = body.drainable(BODY_DRAIN_BYTES_MAX);
        let unread = body.unread_length();
        drop(body);
        let keep_alive = head.keep_alive && reusable && !context.shutting_down();
        if write_response(
            &mut stream,
            response,
            Persistence::of(keep_alive, head.http_1_0),
            head.method == Method::Head,
            &mut output,
        )
        .await
        .is_err()
            || !keep_alive
        {
            let _ = stream.close().await;
            return;
        }
        if unread > 0 {
            let mut rest =
                RequestBody::new(&mut stream, &mut buffer, BodyFraming::Length(unread), false);
            if !rest.drain(BODY_DRAIN_BYTES_MAX).await {
                let _ = stream.close().await;
                return;
            }
        }
    }
}

/// `read` bounded by `wait`: by the socket's per-read timeout (set by the caller), and over TLS,
/// where one read spans several socket reads, by a timer too; past it, `TimedOut`.
async fn bounded_read<S: Stream>(
    wait: Duration,
    read: impl std::future::Future<Output = io::Result<usize>>,
) -> io::Result<usize> {
    if S::TLS {
        within(wait, read)
            .await
            .unwrap_or_else(|| Err(io::ErrorKind::TimedOut.into()))
    } else {
        read.await
    }
}

async fn read_head<S: Stream>(
    stream: &mut S,
    buffer: &mut ReadBuffer,
    context: &CoreState,
) -> HeadOutcome {
    let mut deadline: Option<Instant> = None;
    let config = &context.config;
    loop {
        if !buffer.is_empty() {
            match parse_head_within(buffer.data(), config.header_bytes_max) {
                Ok(HeadParse::Complete(head, used)) => {
                    buffer.consume(used);
                    return HeadOutcome::Request(head);
                }
                Ok(HeadParse::Partial) => {}
                Err(error) => return HeadOutcome::Rejected(error),
            }
            if buffer.is_full() {
                return HeadOutcome::Rejected(HeadError::TooLarge);
            }
        }
        let idle = buffer.is_empty();
        let wait = if idle {
            Duration::from_millis(config.idle_timeout_ms)
        } else {
            let deadline = *deadline.get_or_insert_with(|| {
                Instant::now() + Duration::from_millis(config.header_timeout_ms)
            });
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return HeadOutcome::TimedOut;
            }
            left
        };
        stream.set_read_timeout(wait);
        let filled = if idle {
            // An idle keep-alive connection is closed as soon as shutdown begins.
            let shutdown = async {
                context.wait_for_shutdown().await;
                None
            };
            let read = bounded_read::<S>(wait, buffer.fill_idle(stream));
            match futures_lite::future::or(async { Some(read.await) }, shutdown).await {
                Some(result) => result,
                None => return HeadOutcome::Closed,
            }
        } else {
            bounded_read::<S>(wait, buffer.fill(stream)).await
        };
        match filled {
            Ok(0) => return HeadOutcome::Closed,
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::TimedOut => return HeadOutcome::TimedOut,
            Err(_) => return HeadOutcome::Closed,
        }
    }
}

async fn write_rejection(stream: &mut impl Transport, error: &HeadError) -> io::Result<()> {
    let status = match error {
        HeadError::TooLarge => 431,
        HeadError::Version => 505,
        HeadError::TransferEncoding => 501,
        HeadError::Malformed(_) => 400,
    };
    write_plain_text(stream, status, &format!("{error}\n")).await
}

/// Answers `status` with `message` as text/plain and closes the connection.
async fn write_plain_text(
    stream: &mut impl Transport,
    status: u16,
    message: &str,
) -> io::Result<()> {
    let mut output = Vec::with_capacity(256);
    let mut head = ResponseHead::new(status);
    head.header("Content-Type", "text/plain");
    render_head(&head, message.len() as u64, Persistence::Close, &mut output);
    output.extend_from_slice(message.as_bytes());
    stream.write_all(&output).await?;
    stream.close().await
}

/// Writes the rendered head in `output` and then `body` (none for a HEAD), in one system call
/// when the body is small: a gather write where the stream has one, else the body copied behind
/// the head.
async fn write_head_and<S: Stream>(
    stream: &mut S,
    output: &mut Vec<u8>,
    body: &[u8],
    is_head: bool,
) -> io::Result<()> {
    if is_head {
        return stream.write_all(output).await;
    }
    if body.len() > COALESCE_BODY_BYTES_MAX {
        stream.write_all(output).await?;
        return stream.write_all(body).await;
    }
    // What the socket did not take now is written as any other write (it may wait, up to the
    // write timeout); a rest of the head goes with the body, not as a segment of its own.
    let sent = stream.send_now(output, body);
    if sent < output.len() {
        output.drain(..sent);
        output.extend_from_slice(body);
        stream.write_all(output).await
    } else {
        stream.write_all(&body[sent - output.len()..]).await
    }
}

async fn write_response<S: Stream>(
    stream: &mut S,
    response: Response,
    connection: Persistence,
    is_head: bool,
    output: &mut Vec<u8>,
) -> io::Result<()> {
    output.clear();
    let length = response.body.content_length();
    render_head(&response.head, length, connection, output);
    match response.body {
        ResponseBody::Empty | ResponseBody::HeadOnly(_) => stream.write_all(output).await?,
        ResponseBody::Bytes(bytes) => write_head_and(stream, output, &bytes, is_head).await?,
        ResponseBody::Shared(bytes, range) => {
            write_head_and(stream, output, &bytes[range], is_head).await?
        }
        ResponseBody::Stream(mut reader) => {
            let mut head_sent = false;
            let mut sent_bytes = 0u64;
            while reader.remaining() > 0 {
                if let Err(error) = reader.next_block().await {
                    // Not the client's doing (a socket error is): the head may be out already,
                    // so all that is left is to cut the connection short — and say why.
                    tracing::error!(
                        %error,
                        sent_bytes,
                        content_length = length,
                        "reading a response body failed; the connection is closed mid-body"
                    );
                    reader.close().await;
                    return Err(error);
                }
                let block = reader.block();
                sent_bytes += block.len() as u64;
                if head_sent {
                    stream.write_all(block).await?;
                } else {
                    head_sent = true;
                    write_head_and(stream, output, block, false).await?;
                }
            }
            if !head_sent {
                stream.write_all(output).await?;
            }
            reader.close().await;
        }
    }
    stream.flush().await
}

/// `head` rendered into `output` with the `Date` header value, formatted at most once per
/// second per core (and lent, not copied, to each response).
fn render_head(
    head: &ResponseHead,
    content_length: u64,
    connection: Persistence,
    output: &mut Vec<u8>,
) {
    thread_local! {
        static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    CACHED.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            *cached = (second, httpdate::fmt_http_date(now));
        }
        head.render(content_length, connection, &cached.1, output);
    })
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// A stream whose gather write takes `takes` bytes (`None`: it has none, as TLS), and whose ordinary
    /// writes take at most 7 bytes at a time; everything sent lands in `wire`, in order.
    struct Scripted {
        takes: Option<usize>,
        wire: Vec<u8>,
    }

    impl futures_lite::AsyncRead for Scripted {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(0))
        }
    }

    impl futures_lite::AsyncWrite for Scripted {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let taken = buf.len().min(7);
            self.wire.extend_from_slice(&buf[..taken]);
            Poll::Ready(Ok(taken))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl Stream for Scripted {
        const TLS: bool = false;

        fn set_read_timeout(&mut self, _: Duration) {}

        fn send_now(&mut self, head: &[u8], body: &[u8]) -> usize {
            let takes = self.takes.unwrap_or(0).min(head.len() + body.len());
            let both: Vec<u8> = head.iter().chain(body).copied().collect();
            self.wire.extend_from_slice(&both[..takes]);
            takes
        }
    }

    #[test]
    fn a_gather_write_taken_in_part_is_finished_in_order() {
        // Goal: whatever part of head and body the socket takes at once (none, inside the head,
        // at its end, inside the body, all) or with no gather write at all, the wire carries the
        // head then the body, every byte once; a HEAD answer carries the head alone.
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
        let body = b"0123456789";
        let whole: Vec<u8> = head.iter().chain(body).copied().collect();
        let cases = [
            None,
            Some(0),
            Some(1),
            Some(head.len() - 1),
            Some(head.len()),
            Some(head.len() + 1),
            Some(whole.len()),
        ];
        for takes in cases {
            let mut stream = Scripted {
                takes,
                wire: Vec::new(),
            };
            let mut output = head.to_vec();
            futures_lite::future::block_on(write_head_and(&mut stream, &mut output, body, false))
                .unwrap();
            assert_eq!(stream.wire, whole, "the socket took {takes:?} at once");
            let mut stream = Scripted {
                takes,
                wire: Vec::new(),
            };
            let mut output = head.to_vec();
            futures_lite::future::block_on(write_head_and(&mut stream, &mut output, body, true))
                .unwrap();
            assert_eq!(stream.wire, head, "HEAD, the socket took {takes:?}");
        }
        // A body too large to send behind its head follows it in writes of its own.
        let large = vec![7u8; COALESCE_BODY_BYTES_MAX + 1];
        let mut stream = Scripted {
            takes: Some(3),
            wire: Vec::new(),
        };
        let mut output = head.to_vec();
        futures_lite::future::block_on(write_head_and(&mut stream, &mut output, &large, false))
            .unwrap();
        assert_eq!(stream.wire.len(), head.len() + large.len());
        assert_eq!(&stream.wire[..head.len()], head);
    }
}
