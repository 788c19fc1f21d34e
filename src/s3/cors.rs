//! CORS decisions over a bucket's rules (pure): which rule a preflight or an actual request
//! matches, the `Access-Control-*` headers it earns, and PutBucketCors's validation. S3 User
//! Guide, "Using cross-origin resource sharing (CORS)"; Fetch standard §3.3 for the headers.

use crate::meta::{CorsConfiguration, CorsRule};

use super::error::{S3Error, S3ErrorCode, S3Result};

/// Rules in one configuration (S3 User Guide, CORS configuration: "up to 100 rules").
pub const CORS_RULES_MAX: usize = 100;

/// Bytes of a PutBucketCors body (S3 User Guide, CORS configuration: "up to 64 KB").
pub const CORS_CONFIGURATION_BYTES_MAX: usize = 64 * 1024;

/// Characters of a rule's `ID` (S3 API Reference, CORSRule: "cannot be longer than 255").
pub const CORS_RULE_ID_CHARS_MAX: usize = 255;

/// The methods a rule may allow (S3 API Reference, CORSRule, AllowedMethods).
pub const CORS_METHODS: [&str; 5] = ["GET", "PUT", "HEAD", "POST", "DELETE"];

/// `Vary` on every answer that depends on the CORS request headers, so a cache never serves one
/// origin's answer to another.
pub const CORS_VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// What a preflight or an actual cross-origin request asks.
#[derive(Debug, Clone, Copy)]
pub struct CorsRequest<'r> {
    /// `Origin`, compared byte for byte (case-sensitive, as the Fetch standard serializes it).
    pub origin: &'r str,
    /// The method to match: `Access-Control-Request-Method` when sent, else the request's own.
    pub method: &'r str,
    /// `Access-Control-Request-Headers` (a preflight's; an actual request's headers are not
    /// checked), comma-separated.
    pub requested_headers: Option<&'r str>,
}

/// Whether `pattern` (at most one `*`, matching any run of characters, the empty one included)
/// matches `text`; `case_insensitive` for header names.
fn wildcard_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let equal = |a: &str, b: &str| {
        if case_insensitive {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    match pattern.split_once('*') {
        None => equal(pattern, text),
        Some((prefix, suffix)) => {
            text.len() >= prefix.len() + suffix.len()
                && text.is_char_boundary(prefix.len())
                && text.is_char_boundary(text.len() - suffix.len())
                && equal(prefix, &text[..prefix.len()])
                && equal(suffix, &text[text.len() - suffix.len()..])
        }
    }
}

/// The names of an `Access-Control-Request-Headers` list, trimmed, empty items dropped.
fn header_names(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
}

/// The first rule allowing `request`, and whether it allowed the origin through a bare `*`.
pub fn matching_rule<'c>(
    configuration: &'c CorsConfiguration,
    request: &CorsRequest<'_>,
) -> Option<(&'c CorsRule, bool)> {
    configuration.rules.iter().find_map(|rule| {
        let origin = rule
            .allowed_origins
            .iter()
            .find(|pattern| wildcard_match(pattern, request.origin, false))?;
        if !rule.allowed_methods.iter().any(|m| m == request.method) {
            return None;
        }
        let headers_allowed = request.requested_headers.is_none_or(|list| {
            header_names(list).all(|name| {
                rule.allowed_headers
                    .iter()
                    .any(|pattern| wildcard_match(pattern, name, true))
            })
        });
        headers_allowed.then_some((rule, origin == "*"))
    })
}

/// The `Access-Control-*` headers (and `Vary`) a request matching `rule` is answered with: the
/// origin (or `*` with no credentials when the rule allows every origin), the rule's methods,
/// the requested headers lowercased in order (preflights), the exposed headers and the max age.
pub fn response_headers(
    rule: &CorsRule,
    any_origin: bool,
    request: &CorsRequest<'_>,
) -> Vec<(&'static str, String)> {
    let mut headers = Vec::with_capacity(7);
    if any_origin {
        headers.push(("Access-Control-Allow-Origin", "*".to_string()));
    } else {
        headers.push(("Access-Control-Allow-Origin", request.origin.to_string()));
        headers.push(("Access-Control-Allow-Credentials", "true".to_string()));
    }
    headers.push((
        "Access-Control-Allow-Methods",
        rule.allowed_methods.join(", "),
    ));
    if let Some(list) = request.requested_headers {
        let names: Vec<String> = header_names(list).map(str::to_ascii_lowercase).collect();
        if !names.is_empty() {
            headers.push(("Access-Control-Allow-Headers", names.join(", ")));
        }
    }
    if !rule.expose_headers.is_empty() {
        headers.push((
            "Access-Control-Expose-Headers",
            rule.expose_headers.join(", "),
        ));
    }
    if let Some(seconds) = rule.max_age_seconds {
        headers.push(("Access-Control-Max-Age", seconds.to_string()));
    }
    headers.push(("Vary", CORS_VARY.to_string()));
    headers
}

/// PutBucketCors's checks beyond the XML's shape: 1 to `CORS_RULES_MAX` rules, known methods,
/// at most one `*` per origin and allowed header, IDs within `CORS_RULE_ID_CHARS_MAX`, no
/// control character, no empty header name, no negative max age.
/// MalformedXML, InvalidRequest or InvalidArgument with S3's messages.
pub fn validate(configuration: &CorsConfiguration) -> S3Result<()> {
    if configuration.rules.is_empty() {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    }
    if configuration.rules.len() > CORS_RULES_MAX {
        return Err(S3Error::with_message(
            S3ErrorCode::MalformedXML,
            format!("A CORS configuration can have at most {CORS_RULES_MAX} rules."),
        ));
    }
    let invalid = |message: String| S3Error::with_message(S3ErrorCode::InvalidRequest, message);
    for rule in &configuration.rules {
        // Origins and header names go back out in response headers: no control character, and
        // no empty header name (it would render as an empty list item).
        let values = rule
            .allowed_methods
            .iter()
            .chain(&rule.allowed_origins)
            .chain(&rule.allowed_headers)
            .chain(&rule.expose_headers)
            .chain(&rule.id);
        if values
            .clone()
            .any(|value| value.chars().any(char::is_control))
            || rule
                .allowed_headers
                .iter()
                .chain(&rule.expose_headers)
                .any(String::is_empty)
            || rule.max_age_seconds.is_some_and(|seconds| seconds < 0)
        {
            return Err(S3Error::new(S3ErrorCode::MalformedXML));
        }
        if rule.allowed_methods.is_empty() || rule.allowed_origins.is_empty() {
            return Err(S3Error::new(S3ErrorCode::MalformedXML));
        }
        if let Some(method) = rule
            .allowed_methods
            .iter()
            .find(|method| !CORS_METHODS.contains(&method.as_str()))
        {
            return Err(invalid(format!(
                "Found unsupported HTTP method in CORS config. Unsupported method is {method}"
            )));
        }
        if let Some(origin) = rule
            .allowed_origins
            .iter()
            .find(|o| o.matches('*').count() > 1)
        {
            return Err(invalid(format!(
                "AllowedOrigin \"{origin}\" can not have more than one wildcard."
            )));
        }
        if let Some(header) = rule
            .allowed_headers
            .iter()
            .find(|h| h.matches('*').count() > 1)
        {
            return Err(invalid(format!(
                "AllowedHeader \"{header}\" can not have more than one wildcard."
            )));
        }
        if rule
            .id
            .as_ref()
            .is_some_and(|id| id.chars().count() > CORS_RULE_ID_CHARS_MAX)
        {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!(
                    "The ID of a CORS rule can be at most {CORS_RULE_ID_CHARS_MAX} characters."
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(methods: &[&str], origins: &[&str], headers: &[&str]) -> CorsRule {
        let strings = |items: &[&str]| items.iter().map(|item| item.to_string()).collect();
        CorsRule {
            allowed_methods: strings(methods),
            allowed_origins: strings(origins),
            allowed_headers: strings(headers),
            ..CorsRule::default()
        }
    }

    fn first_match(
        configuration: &CorsConfiguration,
        origin: &str,
        method: &str,
        headers: Option<&str>,
    ) -> Option<usize> {
        let request = CorsRequest {
            origin,
            method,
            requested_headers: headers,
        };
        matching_rule(configuration, &request).map(|(found, _)| {
            configuration
                .rules
                .iter()
                .position(|candidate| std::ptr::eq(candidate, found))
                .unwrap()
        })
    }

    #[test]
    fn origins_match_with_one_anchored_wildcard() {
        // Goal: the origin table of ceph/s3-tests' test_cors_origin_response: `*` matches any run
        // of characters (the empty one too), and patterns are anchored at both ends.
        let configuration = CorsConfiguration {
            rules: vec![
                rule(&["GET"], &["*suffix"], &[]),
                rule(&["GET"], &["start*end"], &[]),
                rule(&["GET"], &["prefix*"], &[]),
                rule(&["PUT"], &["*.put"], &[]),
            ],
        };
        for (origin, method, expected) in [
            ("foo.suffix", "GET", Some(0)),
            ("foo.bar", "GET", None),
            ("foo.suffix.get", "GET", None),
            ("startend", "GET", Some(1)),
            ("start1end", "GET", Some(1)),
            ("start12end", "GET", Some(1)),
            ("0start12end", "GET", None),
            ("prefix", "GET", Some(2)),
            ("prefix.suffix", "GET", Some(0)),
            ("bla.prefix", "GET", None),
            ("foo.put", "GET", None),
            ("foo.put", "PUT", Some(3)),
            ("foo.suffix", "PUT", None),
            ("FOO.SUFFIX", "GET", None),
        ] {
            assert_eq!(
                first_match(&configuration, origin, method, None),
                expected,
                "{origin} {method}"
            );
        }
    }

    #[test]
    fn requested_headers_must_all_be_allowed_without_regard_to_case() {
        // Goal: a preflight naming headers matches only a rule allowing every one of them
        // (case-insensitively, `*` patterns included); a rule without AllowedHeader allows none.
        let configuration = CorsConfiguration {
            rules: vec![
                rule(&["PUT"], &["https://app.example"], &[]),
                rule(
                    &["PUT"],
                    &["https://app.example"],
                    &["Content-Type", "x-amz-meta-*"],
                ),
            ],
        };
        let origin = "https://app.example";
        assert_eq!(first_match(&configuration, origin, "PUT", None), Some(0));
        assert_eq!(
            first_match(&configuration, origin, "PUT", Some("")),
            Some(0)
        );
        assert_eq!(
            first_match(
                &configuration,
                origin,
                "PUT",
                Some("content-type,X-Amz-Meta-Color")
            ),
            Some(1)
        );
        assert_eq!(
            first_match(
                &configuration,
                origin,
                "PUT",
                Some("content-type, x-amz-acl")
            ),
            None
        );
    }

    #[test]
    fn answers_echo_the_origin_or_say_any() {
        // Goal: the headers of S3's recorded answers: a named origin is echoed with credentials
        // allowed; a bare `*` rule answers `*` without them; requested headers come back
        // lowercase in order; Vary always.
        let mut named = rule(&["GET", "PUT"], &["https://a.example"], &["*"]);
        named.expose_headers = vec!["ETag".into(), "x-amz-version-id".into()];
        named.max_age_seconds = Some(3000);
        let request = CorsRequest {
            origin: "https://a.example",
            method: "PUT",
            requested_headers: Some("Content-Type,X-Amz-Meta-A"),
        };
        assert_eq!(
            response_headers(&named, false, &request),
            vec![
                (
                    "Access-Control-Allow-Origin",
                    "https://a.example".to_string()
                ),
                ("Access-Control-Allow-Credentials", "true".to_string()),
                ("Access-Control-Allow-Methods", "GET, PUT".to_string()),
                (
                    "Access-Control-Allow-Headers",
                    "content-type, x-amz-meta-a".to_string()
                ),
                (
                    "Access-Control-Expose-Headers",
                    "ETag, x-amz-version-id".to_string()
                ),
                ("Access-Control-Max-Age", "3000".to_string()),
                ("Vary", CORS_VARY.to_string()),
            ]
        );
        let any = rule(&["GET"], &["*"], &[]);
        let configuration = CorsConfiguration {
            rules: vec![any.clone()],
        };
        let request = CorsRequest {
            origin: "http://random:1234",
            method: "GET",
            requested_headers: None,
        };
        let (found, any_origin) = matching_rule(&configuration, &request).unwrap();
        assert!(any_origin);
        assert_eq!(
            response_headers(found, any_origin, &request),
            vec![
                ("Access-Control-Allow-Origin", "*".to_string()),
                ("Access-Control-Allow-Methods", "GET".to_string()),
                ("Vary", CORS_VARY.to_string()),
            ]
        );
    }

    #[test]
    fn validation_gives_s3s_errors() {
        // Goal: each configuration S3 refuses is refused with S3's code and message.
        let one = |rule: CorsRule| CorsConfiguration { rules: vec![rule] };
        let error = |configuration: &CorsConfiguration| validate(configuration).unwrap_err();
        assert!(validate(&one(rule(&["GET"], &["*"], &["*"]))).is_ok());
        assert!(validate(&one(rule(&["GET"], &[""], &[]))).is_ok());
        assert_eq!(
            error(&CorsConfiguration::default()).code,
            S3ErrorCode::MalformedXML
        );
        let unsupported = error(&one(rule(&["GET", "OPTIONS"], &["*"], &[])));
        assert_eq!(unsupported.code, S3ErrorCode::InvalidRequest);
        assert_eq!(
            unsupported.message,
            "Found unsupported HTTP method in CORS config. Unsupported method is OPTIONS"
        );
        let lowercase = error(&one(rule(&["get"], &["*"], &[])));
        assert_eq!(lowercase.code, S3ErrorCode::InvalidRequest);
        let origin = error(&one(rule(&["GET"], &["*example*.com"], &[])));
        assert_eq!(
            origin.message,
            "AllowedOrigin \"*example*.com\" can not have more than one wildcard."
        );
        let header = error(&one(rule(&["GET"], &["*"], &["x-*-*"])));
        assert_eq!(
            header.message,
            "AllowedHeader \"x-*-*\" can not have more than one wildcard."
        );
        let too_many = CorsConfiguration {
            rules: vec![rule(&["GET"], &["*"], &[]); CORS_RULES_MAX + 1],
        };
        assert_eq!(error(&too_many).code, S3ErrorCode::MalformedXML);
        let mut control = rule(&["GET"], &["*"], &[]);
        control.expose_headers = vec!["ETag\r\nSet-Cookie: x=1".into()];
        assert_eq!(error(&one(control)).code, S3ErrorCode::MalformedXML);
        let mut empty = rule(&["GET"], &["*"], &[]);
        empty.expose_headers = vec![String::new()];
        assert_eq!(error(&one(empty)).code, S3ErrorCode::MalformedXML);
        let mut negative = rule(&["GET"], &["*"], &[]);
        negative.max_age_seconds = Some(-5);
        assert_eq!(error(&one(negative)).code, S3ErrorCode::MalformedXML);
        let mut long_id = rule(&["GET"], &["*"], &[]);
        long_id.id = Some("i".repeat(CORS_RULE_ID_CHARS_MAX + 1));
        assert_eq!(error(&one(long_id)).code, S3ErrorCode::InvalidArgument);
    }
}
