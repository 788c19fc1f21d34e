//! The log's way off the cores: each thread hands its formatted events to its own bounded ring, and
//! one logging thread drains every ring into stderr in batched writes. A full ring drops the event
//! and counts it; a thread that logs never blocks on a reader that stopped draining stderr.
//!
//! Lines of one thread keep their order; lines of different threads are written ring by ring, so
//! they may leave in a slightly different order than their timestamps. A process that aborts
//! loses what its rings still hold (at most [`LOG_RING_BYTES_MAX`] per thread).

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};

use crate::limits::{LOG_RING_BYTES_MAX, LOG_RING_EVENT_COUNT_MAX, LOG_WRITE_BATCH_BYTES};

/// How long the logging thread sleeps after a pass that did not fill a whole batch. A ring filling
/// past half wakes it sooner, so this bounds only the delay of a line, not the ring's capacity.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// How often the logging thread reports events dropped since its last report. While stderr is
/// stalled the thread is blocked in `write(2)` and cannot report; the counter in `/metrics`
/// (`ringstore_log_events_dropped_total`) covers that time.
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// How long [`flush`] waits for the logging thread (a stalled stderr must not hold up exit).
const FLUSH_WAIT: Duration = Duration::from_millis(500);

/// Events dropped because their thread's ring was full, since start.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// What threads reach the logging thread through.
struct Logger {
    /// New rings (one per logging thread, sent once) and flush requests.
    control: Sender<Control>,
    /// The logging thread, woken when a ring passes half full.
    thread: Thread,
}

/// The logging thread's end of one thread's ring.
struct RingReader {
    events: Receiver<Vec<u8>>,
    /// Bytes (allocated capacity) of the events waiting, shared with the writing thread.
    queued_bytes: Arc<AtomicUsize>,
}

/// A thread's end of its ring.
struct RingWriter {
    events: Sender<Vec<u8>>,
    queued_bytes: Arc<AtomicUsize>,
}

enum Control {
    /// A thread's ring, registered on its first event.
    Ring(RingReader),
    /// Write everything queued so far, then answer.
    Flush(Sender<()>),
}

static LOGGER: OnceLock<Option<Logger>> = OnceLock::new();

thread_local! {
    /// This thread's ring, made on its first event.
    static RING: RefCell<Option<RingWriter>> = const { RefCell::new(None) };
}

/// Events dropped so far because a ring was full (stderr drained slower than events came).
pub fn dropped_events() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Starts the logging thread (once; later calls do nothing). Called from the main thread before
/// any core starts, so the thread inherits no core's CPU pinning; it blocks every signal itself,
/// so the server's signals always reach the thread that waits for them.
pub fn start() {
    let _ = logger();
}

/// Queues one formatted event (a whole line) for stderr. Never blocks: with the ring full (by
/// count or by bytes) the event is dropped and counted; without a logging thread (it could not be
/// started) the event is written directly.
pub fn submit(event: Vec<u8>) {
    let Some(logger) = logger() else {
        write_all(&event);
        return;
    };
    let handed = RING.try_with(|ring| {
        let mut ring = ring.borrow_mut();
        let ring = ring.get_or_insert_with(|| {
            let (sender, receiver) = crossbeam_channel::bounded(LOG_RING_EVENT_COUNT_MAX);
            let queued_bytes = Arc::new(AtomicUsize::new(0));
            let _ = logger.control.send(Control::Ring(RingReader {
                events: receiver,
                queued_bytes: queued_bytes.clone(),
            }));
            RingWriter {
                events: sender,
                queued_bytes,
            }
        });
        // Counted by capacity: that is what the event holds on to while it waits.
        let bytes = event.capacity();
        if ring.queued_bytes.load(Ordering::Relaxed) + bytes > LOG_RING_BYTES_MAX {
            DROPPED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        ring.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        match ring.events.try_send(event) {
            Ok(()) => {
                if ring.events.len() == LOG_RING_EVENT_COUNT_MAX / 2 {
                    logger.thread.unpark();
                }
            }
            Err(TrySendError::Full(_)) => {
                ring.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(event)) => write_all(&event),
        }
    });
    // A thread being torn down has no ring any more; its last events are dropped and counted
    // (writing them here could block that thread on a stalled stderr).
    if handed.is_err() {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Writes every event queued before this call, waiting at most [`FLUSH_WAIT`]. Called before the
/// process exits, so its last lines (the shutdown summary) are not lost.
pub fn flush() {
    let Some(Some(logger)) = LOGGER.get() else {
        return;
    };
    let (done, finished) = crossbeam_channel::bounded(1);
    if logger.control.send(Control::Flush(done)).is_ok() {
        logger.thread.unpark();
        let _ = finished.recv_timeout(FLUSH_WAIT);
    }
}

/// The logging thread, started on first use; `None` if it could not be started.
fn logger() -> Option<&'static Logger> {
    LOGGER
        .get_or_init(|| {
            let (control, requests) = crossbeam_channel::unbounded();
            let thread = thread::Builder::new()
                .name("ringstore-log".into())
                .spawn(move || {
                    block_signals();
                    drain(requests)
                })
                .ok()?;
            Some(Logger {
                control,
                thread: thread.thread().clone(),
            })
        })
        .as_ref()
}

/// Blocks every signal in the calling thread: the process's signals (SIGTERM, SIGINT, SIGHUP) are
/// taken by `sigwait` in the signal thread, and the kernel hands a process-directed signal to any
/// thread that does not block it — with the default action, that would end the process.
fn block_signals() {
    // SAFETY: sigfillset initialises the set; pthread_sigmask changes only this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// The logging thread: drains every ring into one buffer, writes it, and sleeps unless the pass
/// filled a whole batch. Reports dropped events every [`DROP_REPORT_INTERVAL`].
fn drain(requests: Receiver<Control>) {
    let mut rings: Vec<RingReader> = Vec::new();
    let mut batch: Vec<u8> = Vec::with_capacity(LOG_WRITE_BATCH_BYTES);
    let mut reported_drops = 0;
    let mut last_report = Instant::now();
    loop {
        let mut flushes = Vec::new();
        for request in requests.try_iter() {
            match request {
                Control::Ring(ring) => rings.push(ring),
                Control::Flush(done) => flushes.push(done),
            }
        }
        let mut moved_bytes = 0;
        // At most one ring's worth per pass, so a busy core cannot starve the others' rings; a
        // ring whose thread ended is dropped once it is empty.
        rings.retain(|ring| {
            for _ in 0..LOG_RING_EVENT_COUNT_MAX {
                match ring.events.try_recv() {
                    Ok(event) => {
                        ring.queued_bytes
                            .fetch_sub(event.capacity(), Ordering::Relaxed);
                        batch.extend_from_slice(&event);
                        moved_bytes += event.len();
                        if batch.len() >= LOG_WRITE_BATCH_BYTES {
                            write_all(&batch);
                            batch.clear();
                        }
                    }
                    Err(TryRecvError::Empty) => return true,
                    Err(TryRecvError::Disconnected) => return false,
                }
            }
            true
        });
        if !batch.is_empty() {
            write_all(&batch);
            batch.clear();
        }
        for done in flushes {
            let _ = done.send(());
        }
        if last_report.elapsed() >= DROP_REPORT_INTERVAL {
            last_report = Instant::now();
            let dropped = dropped_events();
            if dropped > reported_drops {
                tracing::warn!(
                    dropped_events = dropped - reported_drops,
                    dropped_events_total = dropped,
                    "log events dropped: stderr is not drained as fast as events come"
                );
                reported_drops = dropped;
            }
        }
        // A pass that did not fill a batch means events trickle in: waiting gathers them into
        // fewer, larger writes instead of spinning a CPU on a few lines per pass.
        if moved_bytes < LOG_WRITE_BATCH_BYTES {
            thread::park_timeout(IDLE_WAIT);
        }
    }
}

/// Writes `bytes` to stderr, retrying short writes and interrupts; any other failure drops the
/// rest (a log that cannot be written is never fatal).
fn write_all(bytes: &[u8]) {
    let mut written = 0;
    while written < bytes.len() {
        // SAFETY: writes bytes we own to fd 2.
        let result =
            unsafe { libc::write(2, bytes[written..].as_ptr().cast(), bytes.len() - written) };
        if result > 0 {
            written += result as usize;
        } else if result < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        } else {
            break;
        }
    }
}
