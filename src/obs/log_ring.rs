//! The log's way off the cores: each thread hands its formatted events to its own bounded ring, and
//! one logging thread drains every ring into stderr in batched writes. A full ring drops the event
//! and counts it; a thread that logs never blocks on a reader that stopped draining stderr.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};

use crate::limits::{LOG_RING_EVENT_COUNT_MAX, LOG_WRITE_BATCH_BYTES};

/// How long the logging thread sleeps when every ring was empty. A ring filling past half wakes it
/// sooner, so this bounds only the delay of a quiet server's lines, not the ring's capacity.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// How often the logging thread reports events dropped since its last report.
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

enum Control {
    /// A thread's ring, registered on its first event.
    Ring(Receiver<Vec<u8>>),
    /// Write everything queued so far, then answer.
    Flush(Sender<()>),
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

thread_local! {
    /// This thread's ring, made on its first event.
    static RING: RefCell<Option<Sender<Vec<u8>>>> = const { RefCell::new(None) };
}

/// Events dropped so far because a ring was full (stderr drained slower than events came).
pub fn dropped_events() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Queues one formatted event (a whole line) for stderr. Never blocks: with the ring full the
/// event is dropped and counted; without a logging thread (it could not be started) the event is
/// written directly.
pub fn submit(event: Vec<u8>) {
    let Some(logger) = logger() else {
        write_all(&event);
        return;
    };
    let handed = RING.try_with(|ring| {
        let mut ring = ring.borrow_mut();
        let sender = ring.get_or_insert_with(|| {
            let (sender, receiver) = crossbeam_channel::bounded(LOG_RING_EVENT_COUNT_MAX);
            let _ = logger.control.send(Control::Ring(receiver));
            sender
        });
        match sender.try_send(event) {
            Ok(()) => {
                if sender.len() == LOG_RING_EVENT_COUNT_MAX / 2 {
                    logger.thread.unpark();
                }
            }
            Err(TrySendError::Full(_)) => {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(event)) => write_all(&event),
        }
    });
    // A thread being torn down has no ring any more; its last events are dropped and counted.
    if handed.is_err() {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Writes every event queued before this call, waiting at most [`FLUSH_WAIT`]. Called before the
/// process exits, so its last lines (the shutdown summary) are not lost.
pub fn flush() {
    let Some(logger) = LOGGER.get() else { return };
    let (done, finished) = crossbeam_channel::bounded(1);
    if logger.control.send(Control::Flush(done)).is_ok() {
        logger.thread.unpark();
        let _ = finished.recv_timeout(FLUSH_WAIT);
    }
}

/// The logging thread, started on the first event; `None` if it could not be started.
fn logger() -> Option<&'static Logger> {
    static STARTED: OnceLock<Option<()>> = OnceLock::new();
    STARTED.get_or_init(|| {
        let (control, requests) = crossbeam_channel::unbounded();
        let thread = thread::Builder::new()
            .name("ringstore-log".into())
            .spawn(move || drain(requests))
            .ok()?;
        let _ = LOGGER.set(Logger {
            control,
            thread: thread.thread().clone(),
        });
        Some(())
    });
    LOGGER.get()
}

/// The logging thread: drains every ring into one buffer, writes it, and sleeps when all are
/// empty. Reports dropped events every [`DROP_REPORT_INTERVAL`].
fn drain(requests: Receiver<Control>) {
    let mut rings: Vec<Receiver<Vec<u8>>> = Vec::new();
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
        let mut moved = 0;
        // A ring whose thread ended is dropped once it is empty.
        // At most one ring's worth per pass, so a busy core cannot starve the others' rings.
        rings.retain(|ring| {
            for _ in 0..LOG_RING_EVENT_COUNT_MAX {
                match ring.try_recv() {
                    Ok(event) => {
                        batch.extend_from_slice(&event);
                        moved += 1;
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
        if moved == 0 {
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
