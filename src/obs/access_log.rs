//! The per-request access event, written straight into its line in the shape tracing's formatter
//! gives it (text or JSON), so a core spends no time in `core::fmt` or field visitors per request.
//!
//! Issue 25 item 3: with the log on, tracing's formatter cost ~5 µs per request on the core (its
//! visitor, `fmt::write`, the timestamp). The line here carries the same fields, in the same
//! order and quoting, and goes to the same per-core log ring. A terminal (ANSI colours) keeps
//! tracing's own formatter: a person reading is not a load to optimise. Two differences, on
//! purpose: `duration_ms` always has six decimals, and a text line quotes and escapes a path or
//! access key holding a control character, which tracing wrote raw (a line split by a client).

use std::cell::RefCell;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::LogFormat;

/// The target the access event is filtered under (`--log-level ringstore::s3::pipeline=info`),
/// kept from when the event was a plain `tracing::info!` in `s3::pipeline`.
pub const ACCESS_LOG_TARGET: &str = "ringstore::s3::pipeline";

/// The line format the fast path writes; unset (tracing formats the event) when logs go to a
/// terminal or logging was never initialised (tests of the library).
static LINE_FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Bytes a line is started with room for: the fields plus a typical path and key.
const LINE_CAPACITY_BYTES: usize = 320;

/// Chooses the fast path for `format` (called once, by `init_logging`, when not on a terminal).
pub fn use_line_format(format: LogFormat) {
    let _ = LINE_FORMAT.set(format);
}

/// One request as logged.
#[derive(Debug, Clone, Copy)]
pub struct AccessEvent<'a> {
    /// The id returned in `x-amz-request-id`.
    pub request_id: &'a str,
    /// The core that served it.
    pub core: usize,
    /// The S3 operation's name (`PutObject`), or `Other` when refused before routing.
    pub s3_op: &'a str,
    /// The HTTP method.
    pub method: &'a str,
    /// The request path as sent (percent-encoded, without the query).
    pub path: &'a str,
    /// The HTTP status answered.
    pub status: u16,
    /// From the request head read to the response ready (its body not yet sent).
    pub duration: Duration,
    /// Body bytes read.
    pub bytes_in: u64,
    /// Body bytes the response declares.
    pub bytes_out: u64,
    /// The access key the request claims (checked or not: a refused request logs what it claimed),
    /// empty when anonymous or refused before one was read.
    pub access_key: &'a str,
}

/// Logs `event` at INFO when the filter lets it through.
pub fn record(event: &AccessEvent<'_>) {
    if !is_enabled() {
        return;
    }
    match LINE_FORMAT.get() {
        Some(format) => super::log_ring::submit(format_line(*format, event, SystemTime::now())),
        None => emit_with_tracing(event),
    }
}

/// Whether the filter lets the access event through, asked as for the event itself (its target,
/// level and field names), so `--log-level` directives that name fields (`[{error}]=info`) treat
/// the hand-written line as they treat tracing's.
fn is_enabled() -> bool {
    tracing::event_enabled!(
        target: ACCESS_LOG_TARGET,
        tracing::Level::INFO,
        {
            message,
            request_id,
            core,
            s3_op,
            method,
            path,
            status,
            duration_ms,
            bytes_in,
            bytes_out,
            access_key
        }
    )
}

/// The event through tracing's own formatter (a terminal's coloured lines): the reference shape
/// `format_line` writes by hand.
fn emit_with_tracing(event: &AccessEvent<'_>) {
    tracing::info!(
        target: ACCESS_LOG_TARGET,
        request_id = %event.request_id,
        core = event.core,
        s3_op = event.s3_op,
        method = event.method,
        path = %event.path,
        status = event.status,
        duration_ms = event.duration.as_secs_f64() * 1000.0,
        bytes_in = event.bytes_in,
        bytes_out = event.bytes_out,
        access_key = %event.access_key,
        "request"
    );
}

/// The whole line (with its newline) for `event` logged at `now`.
pub fn format_line(format: LogFormat, event: &AccessEvent<'_>, now: SystemTime) -> Vec<u8> {
    let mut line = Vec::with_capacity(LINE_CAPACITY_BYTES);
    let fields = [
        ("request_id", Value::Shown(event.request_id)),
        ("core", Value::Integer(event.core as u64)),
        ("s3_op", Value::Name(event.s3_op)),
        ("method", Value::Name(event.method)),
        ("path", Value::Shown(event.path)),
        ("status", Value::Integer(u64::from(event.status))),
        ("duration_ms", Value::Milliseconds(event.duration)),
        ("bytes_in", Value::Integer(event.bytes_in)),
        ("bytes_out", Value::Integer(event.bytes_out)),
        ("access_key", Value::Shown(event.access_key)),
    ];
    match format {
        LogFormat::Text => {
            write_timestamp(&mut line, now);
            line.extend_from_slice(b"  INFO request");
            for (name, value) in fields {
                line.push(b' ');
                line.extend_from_slice(name.as_bytes());
                line.push(b'=');
                match value {
                    Value::Shown(text) => write_shown(&mut line, text),
                    Value::Name(text) => write_debug_str(&mut line, text),
                    Value::Integer(number) => write_integer(&mut line, number),
                    Value::Milliseconds(duration) => write_milliseconds(&mut line, duration),
                }
            }
        }
        LogFormat::Json => {
            line.extend_from_slice(b"{\"timestamp\":\"");
            write_timestamp(&mut line, now);
            line.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\"");
            for (name, value) in fields {
                line.extend_from_slice(b",\"");
                line.extend_from_slice(name.as_bytes());
                line.extend_from_slice(b"\":");
                match value {
                    Value::Shown(text) | Value::Name(text) => write_json_str(&mut line, text),
                    Value::Integer(number) => write_integer(&mut line, number),
                    Value::Milliseconds(duration) => write_milliseconds(&mut line, duration),
                }
            }
            line.push(b'}');
        }
    }
    line.push(b'\n');
    line
}

/// A field's value, by how tracing writes it.
#[derive(Clone, Copy)]
enum Value<'a> {
    /// Recorded with `%` (Display): bare in text, a string in JSON.
    Shown(&'a str),
    /// A `&str` recorded as is (Debug): quoted in text, a string in JSON.
    Name(&'a str),
    /// A number.
    Integer(u64),
    /// A duration as fractional milliseconds.
    Milliseconds(Duration),
}

thread_local! {
    /// The last second formatted on this thread, and its `YYYY-MM-DDTHH:MM:SS`: a core logs
    /// thousands of requests within one second.
    static SECOND: RefCell<(u64, [u8; 19])> = const { RefCell::new((u64::MAX, [0; 19])) };
}

/// The part of the timestamp that changes once a second.
const SECOND_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// RFC 3339 in UTC with microseconds, as tracing's default timer writes it:
/// `2026-12-01T20:38:02.840932Z`.
fn write_timestamp(line: &mut Vec<u8>, now: SystemTime) {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != seconds {
            let mut text = [0u8; 19];
            let formatted = i64::try_from(seconds)
                .ok()
                .and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok())
                .is_some_and(|time| time.format_into(&mut &mut text[..], SECOND_FORMAT).is_ok());
            if !formatted {
                text.copy_from_slice(b"1970-01-01T00:00:00");
            }
            *cached = (seconds, text);
        }
        line.extend_from_slice(&cached.1);
    });
    line.push(b'.');
    write_padded(line, u64::from(since_epoch.subsec_micros()), 6);
    line.push(b'Z');
}

/// Milliseconds with nanosecond resolution (`0.811183`, `12.000000`): a JSON number and the text
/// form's float, without going through `f64` formatting.
fn write_milliseconds(line: &mut Vec<u8>, duration: Duration) {
    let nanos = duration.as_nanos();
    write_integer(line, u64::try_from(nanos / 1_000_000).unwrap_or(u64::MAX));
    line.push(b'.');
    write_padded(line, (nanos % 1_000_000) as u64, 6);
}

fn write_integer(line: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[start..]);
}

/// `value` in exactly `width` digits, zero-padded (`value` < 10^`width`).
fn write_padded(line: &mut Vec<u8>, value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut rest = value;
    for digit in digits[..width].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    line.extend_from_slice(&digits[..width]);
}

/// A `%` field as tracing writes it (bare), unless it holds a control or line-separating character:
/// then quoted and escaped as `{:?}`, so a claimed access key or a path decoded by a client cannot
/// split a line or send escape sequences to a terminal reading the log (tracing writes those raw).
fn write_shown(line: &mut Vec<u8>, value: &str) {
    if value
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
    {
        let _ = write!(line, "{value:?}");
    } else {
        line.extend_from_slice(value.as_bytes());
    }
}

/// A string as `{:?}` writes it (quoted, escaped); the plain names logged here take the fast way.
fn write_debug_str(line: &mut Vec<u8>, value: &str) {
    if value
        .bytes()
        .all(|byte| byte.is_ascii_graphic() && byte != b'"' && byte != b'\\' || byte == b' ')
    {
        line.push(b'"');
        line.extend_from_slice(value.as_bytes());
        line.push(b'"');
    } else {
        let _ = write!(line, "{value:?}");
    }
}

/// A JSON string, escaped by serde_json.
fn write_json_str(line: &mut Vec<u8>, value: &str) {
    let _ = serde_json::to_writer(&mut *line, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer tracing formats into, shared with the test.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn sample() -> AccessEvent<'static> {
        AccessEvent {
            request_id: "00DB29390E000002",
            core: 1,
            s3_op: "PutObject",
            method: "PUT",
            path: "/loadtest/a%20b/object-00000000",
            status: 200,
            duration: Duration::from_nanos(811_183),
            bytes_in: 4096,
            bytes_out: 0,
            access_key: "ringstore",
        }
    }

    /// What tracing's own formatter writes for `event`, configured as `init_logging` does.
    fn tracing_line(format: LogFormat, event: &AccessEvent<'_>) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let builder = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_target(false)
            .with_ansi(false);
        let emit = || emit_with_tracing(event);
        match format {
            LogFormat::Text => tracing::subscriber::with_default(builder.finish(), emit),
            LogFormat::Json => tracing::subscriber::with_default(
                builder
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .finish(),
                emit,
            ),
        }
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_text_line_is_the_one_tracing_writes_after_its_timestamp() {
        // Goal: log readers and parsers see no change: same fields, order, quoting and spacing.
        let event = sample();
        let ours =
            String::from_utf8(format_line(LogFormat::Text, &event, SystemTime::now())).unwrap();
        let theirs = tracing_line(LogFormat::Text, &event);
        let after_timestamp = |line: &str| line.split_once(' ').unwrap().1.to_string();
        assert_eq!(after_timestamp(&ours), after_timestamp(&theirs));
        assert_eq!(
            ours.split_once(' ').unwrap().0.len(),
            theirs.split_once(' ').unwrap().0.len()
        );
    }

    #[test]
    fn the_json_line_has_tracings_keys_in_its_order_and_the_same_values() {
        // Goal: a JSON log pipeline parses the same object; a path needing escapes stays valid.
        for path in [
            "/loadtest/object-00000000",
            "/b/quote\"back\\slash\u{1}tab\t",
            "/b/é",
        ] {
            let event = AccessEvent { path, ..sample() };
            let ours_raw =
                String::from_utf8(format_line(LogFormat::Json, &event, SystemTime::now())).unwrap();
            let theirs_raw = tracing_line(LogFormat::Json, &event);
            assert!(ours_raw.ends_with('\n'));
            let ours: serde_json::Value = serde_json::from_str(&ours_raw).unwrap();
            let theirs: serde_json::Value = serde_json::from_str(&theirs_raw).unwrap();
            // serde_json's map sorts its keys: their order is read from the raw lines.
            let keys_in_order = |raw: &str, value: &serde_json::Value| -> Vec<String> {
                let mut keys: Vec<(usize, String)> = value
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(|key| (raw.find(&format!("\"{key}\":")).unwrap(), key.clone()))
                    .collect();
                keys.sort();
                keys.into_iter().map(|(_, key)| key).collect()
            };
            assert_eq!(
                keys_in_order(&ours_raw, &ours),
                keys_in_order(&theirs_raw, &theirs)
            );
            for (key, value) in theirs.as_object().unwrap() {
                match key.as_str() {
                    "timestamp" => assert_eq!(
                        ours[key].as_str().unwrap().len(),
                        value.as_str().unwrap().len()
                    ),
                    "duration_ms" => assert!(
                        (ours[key].as_f64().unwrap() - value.as_f64().unwrap()).abs() < 1e-9
                    ),
                    _ => assert_eq!(&ours[key], value, "{key}"),
                }
            }
        }
    }

    #[test]
    fn a_text_line_stays_one_line_whatever_a_client_claims() {
        // Goal: an access key or path carrying newlines, escapes or line separators (a claimed,
        // unverified key is logged) is escaped, never written raw.
        for hostile in [
            "a\nb",
            "\u{1b}[31mred",
            "x\r\ny",
            "p\u{2028}q",
            "d\u{7f}\u{85}",
        ] {
            let event = AccessEvent {
                access_key: hostile,
                path: hostile,
                ..sample()
            };
            let line = format_line(LogFormat::Text, &event, SystemTime::now());
            let text = String::from_utf8(line).unwrap();
            assert_eq!(text.matches('\n').count(), 1, "{text:?}");
            assert!(text.ends_with('\n'));
            assert!(
                !text[..text.len() - 1]
                    .chars()
                    .any(|c| c.is_control() || c == '\u{2028}'),
                "{text:?}"
            );
            assert!(
                text.contains(&format!("access_key={hostile:?}")),
                "{text:?}"
            );
        }
    }

    #[test]
    fn directives_naming_fields_treat_the_line_as_tracing_treats_the_event() {
        // Goal: `--log-level` filters decide as they did when tracing wrote the event itself,
        // including field directives, which match only events that have the named field.
        for (directives, expected) in [
            ("info", true),
            ("warn", false),
            ("off", false),
            ("ringstore::s3=info", true),
            ("ringstore::s3::pipeline=info", true),
            ("info,ringstore::s3::pipeline=warn", false),
            ("warn,[{error}]=info", false),
            ("warn,[{status}]=info", true),
            ("info,ringstore::s3::pipeline[{nope}]=off", true),
            ("info,ringstore::s3::pipeline[{access_key}]=off", false),
        ] {
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(directives))
                .with_writer(std::io::sink)
                .finish();
            let enabled = tracing::subscriber::with_default(subscriber, is_enabled);
            assert_eq!(enabled, expected, "{directives}");
        }
    }

    #[test]
    fn the_timestamp_is_rfc3339_utc_with_microseconds() {
        // Goal: the cached second and the digits are right, including across a second's change.
        let at = |seconds: u64, micros: u64| {
            UNIX_EPOCH + Duration::from_micros(seconds * 1_000_000 + micros)
        };
        let mut line = Vec::new();
        write_timestamp(&mut line, at(1_796_158_302, 9_544));
        assert_eq!(line, b"2026-12-01T20:51:42.009544Z");
        line.clear();
        write_timestamp(&mut line, at(1_796_158_303, 0));
        assert_eq!(line, b"2026-12-01T20:51:43.000000Z");
    }

    #[test]
    fn numbers_are_written_whole() {
        // Goal: zero, the largest values and the millisecond fraction's padding.
        let mut line = Vec::new();
        write_integer(&mut line, 0);
        line.push(b' ');
        write_integer(&mut line, u64::MAX);
        line.push(b' ');
        write_milliseconds(&mut line, Duration::from_nanos(12_000_005));
        assert_eq!(line, b"0 18446744073709551615 12.000005");
    }
}
