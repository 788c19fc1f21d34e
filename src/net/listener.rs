//! One SO_REUSEPORT listening socket per core (two with `--listen-tls`), and the accept loops
//! that give each accepted connection a permit from the core's budget before serving it.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use std::sync::Arc;

use glommio::net::TcpListener;
use glommio::sync::Semaphore;
use rustls::ServerConfig;
use socket2::{Domain, Protocol, Socket, Type};

use super::Service;
use crate::core_state::CoreState;

/// Pending connections the kernel queues per listener (capped by `net.core.somaxconn`).
pub const LISTEN_BACKLOG: i32 = 1024;

/// Pause after a failed accept (EMFILE and friends) before the next try, so it does not spin.
const ACCEPT_RETRY_DELAY_MS: u64 = 10;

/// A failing accept repeats every `ACCEPT_RETRY_DELAY_MS`; it is logged at most this often, with
/// the count of failures in between, so running out of descriptors does not flood the log.
const ACCEPT_FAILURE_LOG_INTERVAL_MS: u64 = 5_000;

fn tcp_socket(address: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    Ok(socket)
}

fn reuse_port_socket(address: SocketAddr) -> io::Result<Socket> {
    let socket = tcp_socket(address)?;
    socket.set_reuse_port(true)?;
    socket.bind(&address.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket)
}

/// Binds `count` listeners on `address`; port 0 is resolved once so every core shares one port.
/// Another process already listening there is refused (EADDRINUSE) even if it set SO_REUSEPORT
/// too: the kernel would otherwise split connections between two servers and their data dirs.
pub fn bind_listeners(address: SocketAddr, count: usize) -> io::Result<(SocketAddr, Vec<Socket>)> {
    let probe = tcp_socket(address)?;
    // Without SO_REUSEPORT this bind fails while any socket is bound to the address.
    probe.bind(&address.into())?;
    let bound = probe
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("listener has no IP address"))?;
    drop(probe);
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        sockets.push(reuse_port_socket(bound)?);
    }
    Ok((bound, sockets))
}

/// One core's listening sockets: the plain one, and the TLS one with its handshake settings.
pub struct CoreListeners {
    /// Serves HTTP in the clear (`--listen`).
    pub plain: Socket,
    /// Serves HTTP over TLS (`--listen-tls`), if configured, with this core's TLS settings.
    pub tls: Option<(Socket, Arc<ServerConfig>)>,
}

/// Accepts connections on every socket of `listeners` until shutdown, each served on this core;
/// both listeners draw on one budget of `connections_per_core_max` permits.
pub async fn serve<S: Service + 'static>(
    listeners: CoreListeners,
    context: Rc<CoreState>,
    service: Rc<S>,
) {
    let connections_max = context.config.connections_per_core_max as u64;
    let permits = Rc::new(Semaphore::new(connections_max));
    let plain = accept_connections(
        listeners.plain,
        None,
        permits.clone(),
        context.clone(),
        service.clone(),
    );
    match listeners.tls {
        None => plain.await,
        Some((socket, config)) => {
            let tls = accept_connections(socket, Some(config), permits.clone(), context, service);
            futures_lite::future::zip(plain, tls).await;
        }
    }
    // Shutdown: stop accepting, then wait until every connection of this core has ended (idle
    // ones close at once, busy ones after their request); the runtime bounds the wait.
    let _ = permits.acquire(connections_max).await;
}

/// Accepts connections on `socket` until shutdown; with `tls`, each begins with a handshake.
/// A connection is accepted first and then waits for a permit, so an idle listener holds no
/// permit the other listener's clients need; at the limit each listener holds at most one
/// accepted connection waiting, and the rest wait in the kernel's backlog.
async fn accept_connections<S: Service + 'static>(
    socket: Socket,
    tls: Option<Arc<ServerConfig>>,
    permits: Rc<Semaphore>,
    context: Rc<CoreState>,
    service: Rc<S>,
) {
    // SAFETY: the fd comes from a listening socket we own and hand over whole.
    let listener = unsafe { TcpListener::from_raw_fd(socket.into_raw_fd()) };
    let mut failures = AcceptFailures::default();
    loop {
        let accepted = futures_lite::future::or(async { Some(listener.accept().await) }, async {
            context.wait_for_shutdown().await;
            None
        })
        .await;
        let Some(accepted) = accepted else { break };
        match accepted {
            Ok(stream) => {
                failures.recovered(context.core_index);
                let permit = futures_lite::future::or(
                    async { permits.acquire_static_permit(1).await.ok() },
                    async {
                        context.wait_for_shutdown().await;
                        None
                    },
                )
                .await;
                let Some(permit) = permit else { break };
                let (context, service, tls) = (context.clone(), service.clone(), tls.clone());
                glommio::spawn_local(async move {
                    super::connection::serve(stream, tls.as_ref(), &context, &*service).await;
                    drop(permit);
                })
                .detach();
            }
            Err(error) => {
                // EMFILE and friends: back off instead of spinning; the next accept may succeed.
                failures.failed(&error, context.core_index);
                glommio::timer::sleep(Duration::from_millis(ACCEPT_RETRY_DELAY_MS)).await;
            }
        }
    }
}

/// Failed accepts since the last one logged, and when that was.
#[derive(Default)]
struct AcceptFailures {
    unlogged: u64,
    total: u64,
    last_logged: Option<Instant>,
}

impl AcceptFailures {
    fn failed(&mut self, error: &dyn std::fmt::Display, core: usize) {
        self.total += 1;
        let interval = Duration::from_millis(ACCEPT_FAILURE_LOG_INTERVAL_MS);
        if self
            .last_logged
            .is_some_and(|logged| logged.elapsed() < interval)
        {
            self.unlogged += 1;
            return;
        }
        tracing::warn!(error = %error, core, failures_not_logged = self.unlogged, "accept failed");
        self.unlogged = 0;
        self.last_logged = Some(Instant::now());
    }

    fn recovered(&mut self, core: usize) {
        if self.total > 0 {
            tracing::warn!(core, failures = self.total, "accepting again");
            *self = AcceptFailures {
                last_logged: self.last_logged,
                ..AcceptFailures::default()
            };
        }
    }
}
