//! Starts everything: recovery, the metadata thread, and one glommio `LocalExecutor` per core
//! with its own listener and explicitly sized io_uring memory.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use glommio::{LocalExecutorBuilder, Placement};

use crate::config::Config;
use crate::core_state::CoreState;
use crate::limits::{
    DATA_DIR_LOCK_WAIT_MS_MAX, IO_MEMORY_PER_CORE_BYTES, META_QUEUE_CAPACITY, RING_DEPTH,
    RING_MEMLOCK_PER_CORE_BYTES,
};
use crate::meta::{self, MetaClient, MetaStore};
use crate::net::tls::{self, CertificateResolver};
use crate::net::CoreListeners;
use crate::obs::metrics::Registry;
use crate::service::Service;
use crate::storage::{data_dir_lock, recovery, Layout};

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The data dir could not be prepared.
    #[error("data dir {path}: {source}")]
    DataDir {
        /// The data dir.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Another ringstore kept the data dir for longer than `DATA_DIR_LOCK_WAIT_MS_MAX`.
    #[error("data dir {path} is in use by another ringstore (it holds {path}/ringstore.lock)")]
    DataDirInUse {
        /// The data dir.
        path: String,
    },
    /// The metadata database could not be opened.
    #[error("metadata database: {0}")]
    Meta(#[from] meta::schema::SchemaError),
    /// Recovery failed.
    #[error("startup recovery: {0}")]
    Recovery(String),
    /// Locked memory is too small for the requested cores.
    #[error(
        "RLIMIT_MEMLOCK is {limit_kib} KiB but {cores} core(s) need {needed_kib} KiB of locked memory for io_uring \
         ({per_core_kib} KiB each). Raise it (`ulimit -l {needed_kib}`, systemd `LimitMEMLOCK={needed_kib}K`, \
         docker `--ulimit memlock={needed_bytes}`) or start with fewer --cores (at most {cores_fit})."
    )]
    MemlockTooLow {
        /// Current soft limit.
        limit_kib: u64,
        /// Cores asked for.
        cores: usize,
        /// What they need.
        needed_kib: u64,
        /// Same in bytes.
        needed_bytes: u64,
        /// Per core.
        per_core_kib: u64,
        /// Cores that would fit.
        cores_fit: u64,
    },
    /// The listener could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// Address.
        address: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// A remote tier's client could not be built, or the tier threads did not start.
    #[error("{0}")]
    Tier(#[from] crate::tier::thread::TierStartError),
    /// The TLS certificate or key cannot be used.
    #[error("TLS: {0}")]
    Tls(#[from] crate::net::tls::TlsError),
    /// An executor failed to start or panicked.
    #[error("core {core}: {message}")]
    Executor {
        /// Core index.
        core: usize,
        /// What happened.
        message: String,
    },
}

/// Locked memory one core needs.
pub const MEMLOCK_PER_CORE_BYTES: u64 =
    (IO_MEMORY_PER_CORE_BYTES + RING_MEMLOCK_PER_CORE_BYTES) as u64;

/// Checks (and raises up to the hard limit, if needed) RLIMIT_MEMLOCK for `cores` executors.
pub fn ensure_memlock(cores: usize) -> Result<(), RuntimeError> {
    let needed = MEMLOCK_PER_CORE_BYTES * cores as u64;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } != 0 {
        return Ok(());
    }
    if limit.rlim_cur == libc::RLIM_INFINITY || limit.rlim_cur >= needed {
        return Ok(());
    }
    if limit.rlim_max == libc::RLIM_INFINITY || limit.rlim_max >= needed {
        let raised = libc::rlimit {
            rlim_cur: needed,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &raised) } == 0 {
            return Ok(());
        }
    }
    Err(RuntimeError::MemlockTooLow {
        limit_kib: limit.rlim_cur / 1024,
        cores,
        needed_kib: needed / 1024,
        needed_bytes: needed,
        per_core_kib: MEMLOCK_PER_CORE_BYTES / 1024,
        cores_fit: limit.rlim_cur / MEMLOCK_PER_CORE_BYTES,
    })
}

fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|cpu| libc::CPU_ISSET(*cpu, &set))
            .collect()
    }
}

/// How often the shutdown flag is checked (main thread and one task per core), in milliseconds.
const SHUTDOWN_POLL_INTERVAL_MS: u64 = 50;

/// Blocks SIGTERM, SIGINT and SIGHUP in this thread (and so in every thread started after), so
/// only the signal thread receives them.
fn block_handled_signals() -> libc::sigset_t {
    // SAFETY: plain libc signal-set manipulation on a zeroed, then initialised, set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Waits for signals: SIGHUP reloads the TLS certificate (new handshakes get it, open connections
/// keep theirs); SIGTERM/SIGINT raise the shutdown flag, and a second one exits at once.
fn spawn_signal_thread(
    signals: libc::sigset_t,
    shutdown: Arc<AtomicBool>,
    certificates: Option<Arc<CertificateResolver>>,
) {
    let _ = std::thread::Builder::new()
        .name("ringstore-signals".into())
        .spawn(move || loop {
            let mut received: libc::c_int = 0;
            // SAFETY: sigwait on a set blocked in every thread.
            if unsafe { libc::sigwait(&signals, &mut received) } != 0 {
                continue;
            }
            if received == libc::SIGHUP {
                reload_certificate(certificates.as_deref());
                continue;
            }
            if shutdown.swap(true, Ordering::SeqCst) {
                tracing::warn!(signal = received, "second signal: exiting now");
                crate::obs::log_ring::flush();
                std::process::exit(0);
            }
            tracing::info!(
                signal = received,
                "shutting down: no new connections, finishing in-flight requests"
            );
        });
}

/// SIGHUP: reads the certificate files again; a file that cannot be used keeps the old one.
fn reload_certificate(certificates: Option<&CertificateResolver>) {
    let Some(certificates) = certificates else {
        tracing::info!("SIGHUP: no TLS certificate to reload (no --listen-tls)");
        return;
    };
    let files = certificates.files();
    match certificates.reload() {
        Ok(()) => tracing::info!(
            certificate = %files.certificate.display(),
            "SIGHUP: TLS certificate reloaded; new connections get it"
        ),
        Err(error) => tracing::error!(
            error = %error,
            "SIGHUP: TLS certificate not reloaded; still serving the previous one"
        ),
    }
}

/// Turns the process-wide shutdown flag into a notification on this core.
async fn relay_shutdown(core: Rc<CoreState>) {
    while !core.shutting_down() {
        glommio::timer::sleep(Duration::from_millis(SHUTDOWN_POLL_INTERVAL_MS)).await;
    }
    core.notify_shutdown();
}

/// How often expired multipart uploads are looked for, in seconds.
const REAP_INTERVAL_SECONDS: u64 = 3600;

/// Reaps expired multipart uploads at startup and then every hour (or more often for short ages),
/// each run in bounded steps with a pause between.
async fn reap_uploads_periodically(service: Rc<Service>, core: Rc<CoreState>) {
    loop {
        let mut run = service.start_reap();
        while let Some(pause) = service.step_reap(&mut run).await {
            glommio::timer::sleep(pause).await;
        }
        let interval = REAP_INTERVAL_SECONDS.min(core.config.multipart_max_age_seconds.max(1));
        glommio::timer::sleep(std::time::Duration::from_secs(interval)).await;
    }
}

/// Applies lifecycle rules: steps with a short pause between while a pass runs, then a look
/// now and then (the service says how long each wait is).
async fn apply_lifecycle_periodically(service: Rc<Service>) {
    loop {
        let wait = service.step_lifecycle().await;
        glommio::timer::sleep(wait).await;
    }
}

/// CPU shares of the housekeeping task queue (requests run in the default queue, 1000 shares):
/// background work gets a small slice of a busy core and all of an idle one.
const HOUSEKEEPING_SHARES: usize = 50;

/// File descriptors one connection may hold: its socket and the object file its request has open.
const FILES_PER_CONNECTION: u64 = 2;

/// File descriptors the process holds besides connections and object directories (listeners,
/// rings, SQLite, logs).
const FILES_BASE_COUNT: u64 = 64;

/// Raises RLIMIT_NOFILE's soft limit to the hard limit and warns when even that is below what
/// `cores` × `connections_per_core` connections and the kept object directories can use; then
/// the cores do not keep directories open (`storage::object_dirs::keep_open`), so descriptors
/// go to connections first. Not fatal: connection counts are upper bounds, and an accept that
/// fails with EMFILE backs off and retries.
pub fn raise_nofile(cores: usize, connections_per_core: usize) {
    // Each core keeps every object directory open (`storage::object_dirs`).
    let per_core = connections_per_core as u64 * FILES_PER_CONNECTION
        + crate::storage::layout::OBJECT_DIR_COUNT as u64;
    let needed = cores as u64 * per_core + FILES_BASE_COUNT;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = limit.rlim_max;
        }
    }
    if limit.rlim_cur != libc::RLIM_INFINITY && limit.rlim_cur < needed {
        crate::storage::object_dirs::keep_open(false);
        tracing::warn!(
            limit = limit.rlim_cur,
            needed,
            cores,
            connections_per_core,
            "RLIMIT_NOFILE is below what --max-connections allows: raise it to `needed` \
             (`ulimit -n`, systemd LimitNOFILE) or lower --max-connections; until then accepts \
             past the limit wait, and each PUT opens its object directory for its fsync"
        );
    }
}

/// What one core starts from (each its own clone).
struct CoreSeed {
    config: Arc<Config>,
    layout: Layout,
    client: MetaClient,
    removals: crate::storage::FileRemover,
    registry: Arc<Registry>,
    shutdown: Arc<AtomicBool>,
    running: Arc<AtomicUsize>,
    tiers: Option<futures_channel::mpsc::Sender<crate::tier::TierRequest>>,
}

/// One core's listening sockets, before its executor wraps them: the TLS one with the
/// certificates its handshakes use.
struct CoreSockets {
    plain: socket2::Socket,
    tls: Option<(socket2::Socket, Arc<CertificateResolver>)>,
}

/// Starts core `core`: its executor (io_uring memory and ring depth set explicitly), its state and
/// service, the shutdown relay, the reaper on core 0, and the accept loops on `sockets`.
fn spawn_core(
    core: usize,
    placement: Placement,
    sockets: CoreSockets,
    seed: CoreSeed,
) -> Result<glommio::ExecutorJoinHandle<()>, RuntimeError> {
    LocalExecutorBuilder::new(placement)
        .name(&format!("ringstore-core-{core}"))
        .io_memory(IO_MEMORY_PER_CORE_BYTES)
        .ring_depth(RING_DEPTH)
        .spawn(move || async move {
            let CoreSeed {
                config,
                layout,
                client,
                removals,
                registry,
                shutdown,
                running,
                tiers,
            } = seed;
            let mut state = CoreState::new(
                config,
                Rc::new(layout),
                client,
                removals,
                core,
                registry,
                shutdown,
            );
            state.tiers = tiers.map(crate::tier::TierClient::new);
            let state = Rc::new(state);
            let service = Rc::new(Service::new(state.clone()));
            glommio::spawn_local(relay_shutdown(state.clone())).detach();
            if core == 0 {
                // Housekeeping runs beside the requests of one core, in a task queue of its own
                // with few shares, yielding at every await.
                let queue = glommio::executor().create_task_queue(
                    glommio::Shares::Static(HOUSEKEEPING_SHARES),
                    glommio::Latency::NotImportant,
                    "housekeeping",
                );
                let spawn = |task| match glommio::spawn_local_into(task, queue) {
                    Ok(handle) => {
                        handle.detach();
                    }
                    Err(error) => {
                        tracing::error!(error = %error, "housekeeping task did not start");
                    }
                };
                spawn(
                    Box::pin(reap_uploads_periodically(service.clone(), state.clone()))
                        as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
                );
                spawn(Box::pin(apply_lifecycle_periodically(service.clone())));
            }
            let listeners = CoreListeners {
                plain: sockets.plain,
                tls: sockets
                    .tls
                    .map(|(socket, certificates)| (socket, tls::server_config(certificates))),
            };
            crate::net::serve(listeners, state, service).await;
            running.fetch_sub(1, Ordering::SeqCst);
        })
        .map_err(|error| RuntimeError::Executor {
            core,
            message: error.to_string(),
        })
}

/// How the cores stopped.
enum Stopped {
    /// Every core finished its requests.
    Cleanly,
    /// `shutdown_timeout_ms` passed with requests in flight.
    TimedOut,
    /// A core failed (the first one's error).
    Failed(RuntimeError),
}

/// Waits until a shutdown signal arrived and the cores finished, or `shutdown_timeout_ms` passed.
fn wait_for_cores(
    handles: Vec<glommio::ExecutorJoinHandle<()>>,
    shutdown: &AtomicBool,
    running: &AtomicUsize,
    shutdown_timeout_ms: u64,
) -> Stopped {
    // Cores only stop after a shutdown signal; then they get `shutdown_timeout_ms` to finish.
    while !shutdown.load(Ordering::SeqCst) && running.load(Ordering::SeqCst) > 0 {
        std::thread::sleep(Duration::from_millis(SHUTDOWN_POLL_INTERVAL_MS));
    }
    let deadline = Instant::now() + Duration::from_millis(shutdown_timeout_ms);
    while running.load(Ordering::SeqCst) > 0 {
        if Instant::now() >= deadline {
            // Startup is recovery, so leaving now loses nothing acknowledged.
            tracing::warn!(
                cores_busy = running.load(Ordering::SeqCst),
                "shutdown timeout passed; exiting with requests in flight"
            );
            return Stopped::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(SHUTDOWN_POLL_INTERVAL_MS));
    }
    let mut first_error = None;
    for (core, handle) in handles.into_iter().enumerate() {
        if let Err(error) = handle.join() {
            first_error.get_or_insert(RuntimeError::Executor {
                core,
                message: error.to_string(),
            });
        }
    }
    first_error.map_or(Stopped::Cleanly, Stopped::Failed)
}

/// Warns when this build's SQLite keeps every connection's pages in one pool (the metadata
/// writer then takes the reader's cache; BENCHMARKS.md 2026-12-04, evening).
fn warn_of_one_page_cache_pool() {
    if meta::schema::page_caches_share_one_pool() {
        tracing::warn!(
            "this build's SQLite keeps every connection's page cache in one pool \
             (SQLITE_ENABLE_MEMORY_MANAGEMENT): listings and lookups will re-read pages the \
             metadata writer took. The source tree's .cargo/config.toml builds without it; a \
             LIBSQLITE3_FLAGS set in the environment replaces that setting (keep \
             -USQLITE_ENABLE_MEMORY_MANAGEMENT in it), and `cargo install` does not read the file"
        );
    }
}

/// Opens the metadata and runs startup recovery on the data dir: temp files removed. Orphans
/// and missing files are the startup scrub's, once the cores serve (`scrub`).
fn open_and_recover(layout: &Layout) -> Result<MetaStore, RuntimeError> {
    let store = MetaStore::open(&layout.meta_path())?;
    let temp_files_removed = recovery::remove_temp_files(layout)
        .map_err(|error| RuntimeError::Recovery(error.to_string()))?;
    tracing::info!(temp_files_removed, "startup recovery done");
    Ok(store)
}

/// The addresses the server listens on (ports resolved when 0 was asked for).
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    /// Plain HTTP.
    pub plain: SocketAddr,
    /// HTTPS, with `--listen-tls`.
    pub tls: Option<SocketAddr>,
}

/// Binds `count` listeners on `address`, naming the address in the error.
fn bind(
    address: SocketAddr,
    count: usize,
) -> Result<(SocketAddr, Vec<socket2::Socket>), RuntimeError> {
    crate::net::bind_listeners(address, count)
        .map_err(|source| RuntimeError::Listen { address, source })
}

/// Runs the server until every core stops. `on_listening` gets the bound addresses once all
/// listeners exist (before any executor starts accepting).
pub fn run(config: Config, on_listening: impl FnOnce(Listening)) -> Result<(), RuntimeError> {
    let layout = Layout::new(&config.data_dir);
    let data_dir_error = |source| RuntimeError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    };
    layout.create_dirs().map_err(data_dir_error)?;
    // Held until the process ends: nothing below touches the data dir before it.
    let _lock = data_dir_lock::lock_data_dir(
        &layout,
        Duration::from_millis(DATA_DIR_LOCK_WAIT_MS_MAX),
        |path| {
            tracing::warn!(
                path = %path.display(),
                "another ringstore holds this data dir; waiting for it to stop"
            )
        },
    )
    .map_err(data_dir_error)?
    .ok_or_else(|| RuntimeError::DataDirInUse {
        path: config.data_dir.display().to_string(),
    })?;
    // A certificate that cannot be used, or an address taken, stops the start before recovery
    // touches the data dir (connections arriving meanwhile wait in the listen backlog).
    let certificates = match &config.tls {
        Some(settings) => Some(Arc::new(CertificateResolver::load(tls::TlsFiles {
            certificate: settings.certificate.clone(),
            key: settings.key.clone(),
        })?)),
        None => None,
    };
    let (bound, plain_sockets) = bind(config.listen, config.cores)?;
    let (bound_tls, tls_sockets) = match &config.tls {
        Some(settings) => {
            let (address, sockets) = bind(settings.listen, config.cores)?;
            (Some(address), sockets)
        }
        None => (None, Vec::new()),
    };
    let mut tls_sockets = tls_sockets.into_iter();
    let store = open_and_recover(&layout)?;
    warn_of_one_page_cache_pool();
    ensure_memlock(config.cores)?;
    raise_nofile(config.cores, config.connections_per_core_max);
    let shutdown = Arc::new(AtomicBool::new(false));
    let signals = block_handled_signals();
    let (sender, receiver) = crossbeam_channel::bounded(META_QUEUE_CAPACITY);
    let registry = Arc::new(Registry::new(config.cores, crate::service::OPERATION_NAMES));
    let generations = Arc::new(meta::Generations::default());
    let meta_thread =
        meta::thread::spawn(store, receiver, registry.meta.clone(), generations.clone())
            .map_err(|error| RuntimeError::Recovery(error.to_string()))?;
    // After the writer opened the database (its schema is this build's now).
    let (reader, reader_receiver) = crossbeam_channel::bounded(META_QUEUE_CAPACITY);
    let reader_thread = meta::thread::spawn_reader(
        MetaStore::open_reader(&layout.meta_path())?,
        reader_receiver,
    )
    .map_err(|error| RuntimeError::Recovery(error.to_string()))?;
    let client = MetaClient::new(sender.clone(), generations.clone()).with_reader(reader);
    spawn_signal_thread(signals, shutdown.clone(), certificates.clone());
    let removals = crate::storage::FileRemover::start(registry.removals.clone())
        .map_err(|error| RuntimeError::Recovery(error.to_string()))?;
    crate::scrub::spawn(layout.clone(), client.clone(), registry.scrub.clone(), {
        let registry = registry.clone();
        Arc::new(move || registry.requests_in_flight())
    })
    .map_err(|error| RuntimeError::Recovery(error.to_string()))?;
    // After the signals are blocked, like every thread the server starts.
    let tiers = crate::tier::thread::spawn(
        &config.tiers,
        client.clone(),
        layout.clone(),
        crate::tier::mover::MoverSettings {
            garbage_grace_ms: config.tier_garbage_grace_ms,
            day_ms: config.lifecycle_day_ms,
            metadata_interval: (config.tier_metadata_interval_seconds > 0)
                .then(|| Duration::from_secs(config.tier_metadata_interval_seconds)),
            bandwidth_bytes_per_second: config.tier_bandwidth_bytes_per_second,
            foreground_load: {
                let registry = registry.clone();
                Arc::new(move || registry.requests_in_flight())
            },
        },
        config.tier_read_cache_bytes,
    )?;
    let config = Arc::new(config);
    on_listening(Listening {
        plain: bound,
        tls: bound_tls,
    });
    let cpus = allowed_cpus();
    let running = Arc::new(AtomicUsize::new(config.cores));
    let mut handles = Vec::with_capacity(config.cores);
    for (core, plain) in plain_sockets.into_iter().enumerate() {
        let sockets = CoreSockets {
            plain,
            tls: tls_sockets.next().zip(certificates.clone()),
        };
        let placement = if config.cores <= cpus.len() {
            Placement::Fixed(cpus[core])
        } else {
            Placement::Unbound
        };
        let seed = CoreSeed {
            config: config.clone(),
            layout: layout.clone(),
            client: client.clone(),
            removals: removals.clone(),
            registry: registry.clone(),
            shutdown: shutdown.clone(),
            running: running.clone(),
            tiers: tiers.clone(),
        };
        handles.push(spawn_core(core, placement, sockets, seed)?);
    }
    drop((sender, client));
    let stopped = wait_for_cores(handles, &shutdown, &running, config.shutdown_timeout_ms);
    // The metadata threads are not joined: every commit is already durable, and detached core tasks
    // (the reaper) may still hold queue senders, so it would wait forever. Exiting ends it.
    drop((meta_thread, reader_thread));
    match stopped {
        Stopped::Cleanly => {
            tracing::info!("shut down cleanly");
            Ok(())
        }
        // Startup is recovery, so leaving now loses nothing acknowledged.
        Stopped::TimedOut => Ok(()),
        Stopped::Failed(error) => Err(error),
    }
}
