//! Observability: logging setup (text or JSON, written by a logging thread), per-core metrics and
//! recent errors. The per-request log event is written by `access_log`, for `s3::pipeline`.

pub mod access_log;
pub mod log_ring;
pub mod metrics;
pub mod recent_errors;

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Hands each formatted event to this thread's log ring (`log_ring`), so no core ever writes to
/// stderr itself: a reader that stops draining the pipe costs dropped lines, never a stalled core.
#[derive(Clone, Copy)]
struct EventWriter;

/// The buffer one event is formatted into; handed to the ring when the event is complete.
struct EventBuffer {
    bytes: Vec<u8>,
}

impl Write for EventBuffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        if !self.bytes.is_empty() {
            log_ring::submit(std::mem::take(&mut self.bytes));
        }
    }
}

impl<'a> MakeWriter<'a> for EventWriter {
    type Writer = EventBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        EventBuffer {
            bytes: Vec::with_capacity(512),
        }
    }
}

/// Installs the global subscriber at `level` (`off`, `error` … `trace`, or a tracing filter)
/// writing `format` to stderr. Returns a message for an invalid level.
pub fn init_logging(level: &str, format: LogFormat) -> Result<(), String> {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_new(level)
        .map_err(|error| format!("invalid --log-level {level:?}: {error}"))?;
    log_ring::start();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(EventWriter)
        .with_target(false);
    let ansi = format == LogFormat::Text && io::stderr().is_terminal();
    if !ansi {
        access_log::use_line_format(format);
    }
    match format {
        LogFormat::Text => builder.with_ansi(ansi).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
    Ok(())
}
