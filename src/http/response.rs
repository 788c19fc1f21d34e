//! Response heads rendered into one buffer so a small response leaves in one write.

use std::borrow::Cow;
use std::fmt::Write;

/// Reason phrase for a status code.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        303 => "See Other",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A response status line and header fields.
#[derive(Debug, Clone, Default)]
pub struct ResponseHead {
    /// HTTP status code.
    pub status: u16,
    /// Header fields in order; `Content-Length`, `Date`, `Connection` are added when rendered.
    pub headers: Vec<(Cow<'static, str>, String)>,
}

impl ResponseHead {
    /// A head with `status` and no fields yet.
    pub fn new(status: u16) -> Self {
        ResponseHead {
            status,
            headers: Vec::with_capacity(8),
        }
    }

    /// Adds a header field.
    pub fn header(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> &mut Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Appends the rendered head to `output`.
    pub fn render(&self, content_length: u64, keep_alive: bool, date: &str, output: &mut Vec<u8>) {
        let mut text = String::with_capacity(256);
        let _ = write!(text, "HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            let _ = write!(text, "{name}: {value}\r\n");
        }
        let _ = write!(
            text,
            "Content-Length: {content_length}\r\nDate: {date}\r\nServer: ringstore\r\n"
        );
        if !keep_alive {
            text.push_str("Connection: close\r\n");
        }
        text.push_str("\r\n");
        output.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_status_fields_and_length() {
        // Goal: the head is byte-exact HTTP/1.1 with the fields in order.
        let mut head = ResponseHead::new(200);
        head.header("ETag", "\"abc\"");
        let mut output = Vec::new();
        head.render(5, false, "Sun, 29 Nov 2026 00:00:00 GMT", &mut output);
        assert_eq!(
            String::from_utf8(output).unwrap(),
            "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: 5\r\nDate: Sun, 29 Nov 2026 00:00:00 GMT\r\nServer: ringstore\r\nConnection: close\r\n\r\n"
        );
    }
}
