//! Observability: logging setup (text or JSON, one write per event) and per-core metrics. The
//! per-request log event itself is written by `s3::pipeline`.

pub mod metrics;

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

/// Writes each event to stderr with one `write(2)` of a per-thread buffer, so cores never take
/// the process-wide stderr lock (the kernel keeps lines whole).
#[derive(Clone, Copy)]
struct EventWriter;

/// The buffer one event is formatted into.
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
        let mut written = 0;
        while written < self.bytes.len() {
            // SAFETY: writes bytes we own to fd 2; a failed log write is dropped, never fatal.
            let result = unsafe {
                libc::write(
                    2,
                    self.bytes[written..].as_ptr().cast(),
                    self.bytes.len() - written,
                )
            };
            if result <= 0 {
                break;
            }
            written += result as usize;
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(EventWriter)
        .with_target(false);
    match format {
        LogFormat::Text => builder.with_ansi(io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
    Ok(())
}
