//! The two time formats S3 speaks: ISO 8601 in XML, IMF-fixdate in headers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch of an ISO 8601 / RFC 3339 timestamp (`RetainUntilDate`,
/// `x-amz-object-lock-retain-until-date`); `None` if it is not one.
pub fn parse_iso8601_ms(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|moment| (moment.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `2009-10-12T17:50:30.000Z`, as S3 writes `LastModified` and `CreationDate`.
pub fn iso8601(ms: i64) -> String {
    let datetime = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        datetime.year(),
        datetime.month() as u8,
        datetime.day(),
        datetime.hour(),
        datetime.minute(),
        datetime.second(),
        datetime.millisecond()
    )
}

/// The last moment IMF-fixdate can write (9999-12-31T23:59:59Z), in milliseconds since the Unix
/// epoch (RFC 9110 §5.6.7: a four-digit year).
const HTTP_DATE_MS_MAX: i64 = 253_402_300_799_000;

/// `Mon, 12 Oct 2009 17:50:30 GMT`, as S3 writes `Last-Modified`; moments outside 1970–9999
/// (a lifecycle rule's Days can reach past year 9999) are written as the nearest end.
pub fn http_date(ms: i64) -> String {
    let mut text = String::with_capacity(HTTP_DATE_BYTES);
    write_http_date(ms, &mut text);
    text
}

/// The length of an IMF-fixdate (`Mon, 12 Oct 2009 17:50:30 GMT`).
const HTTP_DATE_BYTES: usize = 29;

/// `http_date` appended to `out` (a response head's value, written in place).
pub fn write_http_date(ms: i64, out: &mut String) {
    use std::fmt::Write;
    let clamped = ms.clamp(0, HTTP_DATE_MS_MAX) as u64;
    let date = httpdate::HttpDate::from(UNIX_EPOCH + Duration::from_millis(clamped));
    write!(out, "{date}").expect("a String takes any text");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        // Goal: both formats match S3's documented examples.
        assert_eq!(iso8601(1_255_369_830_000), "2009-10-12T17:50:30.000Z");
        assert_eq!(
            http_date(1_255_369_830_000),
            "Mon, 12 Oct 2009 17:50:30 GMT"
        );
    }

    #[test]
    fn far_dates_clamp_instead_of_panicking() {
        // Goal: a date past year 9999 (an expiry 3,000,000 days out) writes the last date
        // IMF-fixdate has, never a panic that would take a core down.
        assert_eq!(http_date(i64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(http_date(-5), "Thu, 01 Jan 1970 00:00:00 GMT");
        let mut written = String::from("x");
        write_http_date(1_255_369_830_000, &mut written);
        assert_eq!(written, "xMon, 12 Oct 2009 17:50:30 GMT");
    }
}
