//! Logging setup; the per-request event itself is written by `s3::pipeline`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber writing text logs to stderr at `level` (`error` … `trace` or a
/// tracing filter directive). Returns an error message for an invalid level.
pub fn init_logging(level: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(level)
        .map_err(|error| format!("invalid --log-level {level:?}: {error}"))?;
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    Ok(())
}
