//! CORS (issue 21, item 2) against the real server: Put/Get/DeleteBucketCors with aws-sdk-s3,
//! preflights and actual requests on raw sockets (the headers a browser reads), and a real
//! headless Chromium uploading through presigned URLs from an allowed and a disallowed origin.

mod common;

use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use common::{error_code, exchange, RawResponse, TestServer};

fn rule(methods: &[&str], origins: &[&str]) -> aws_sdk_s3::types::builders::CorsRuleBuilder {
    let mut builder = CorsRule::builder();
    for method in methods {
        builder = builder.allowed_methods(*method);
    }
    for origin in origins {
        builder = builder.allowed_origins(*origin);
    }
    builder
}

fn configuration(rules: Vec<CorsRule>) -> CorsConfiguration {
    CorsConfiguration::builder()
        .set_cors_rules(Some(rules))
        .build()
        .unwrap()
}

/// An unsigned request of `method` on `path` with `headers`.
fn unsigned(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> RawResponse {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", server.address);
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Content-Length: 0\r\nConnection: close\r\n\r\n");
    exchange(server, request.as_bytes())
}

/// The `<name>` element's text in an error body.
fn field(response: &RawResponse, name: &str) -> Option<String> {
    let text = response.body_text();
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let end = text[start..].find(&format!("</{name}>"))? + start;
    Some(text[start..end].to_string())
}

#[tokio::test]
async fn bucket_cors_configuration_round_trips_and_is_validated() {
    // Goal: PutBucketCors stores the rules exactly as sent (order, case, optional members) and
    // GetBucketCors gives them back; S3's validation errors refuse bad rules without changing the
    // stored ones; only the bucket owner may read or change them; DeleteBucketCors removes them
    // (404 NoSuchCORSConfiguration after); they survive a restart.
    let mut server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket()
        .bucket("cors-config")
        .send()
        .await
        .unwrap();
    let missing = s3
        .get_bucket_cors()
        .bucket("cors-config")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&missing).as_deref(),
        Some("NoSuchCORSConfiguration")
    );

    let rules = vec![
        rule(
            &["GET", "PUT"],
            &["https://*.example.com", "http://test.com:80"],
        )
        .id("uploads")
        .allowed_headers("Content-Type")
        .allowed_headers("x-AMZ-meta-*")
        .expose_headers("ETag")
        .max_age_seconds(3000)
        .build()
        .unwrap(),
        rule(&["HEAD"], &["*"]).build().unwrap(),
    ];
    s3.put_bucket_cors()
        .bucket("cors-config")
        .cors_configuration(configuration(rules.clone()))
        .send()
        .await
        .unwrap();
    let stored = s3
        .get_bucket_cors()
        .bucket("cors-config")
        .send()
        .await
        .unwrap();
    assert_eq!(stored.cors_rules(), rules.as_slice());

    for (bad, code) in [
        (
            rule(&["GET", "OPTIONS"], &["*"]).build().unwrap(),
            "InvalidRequest",
        ),
        (rule(&["GET"], &["*a*"]).build().unwrap(), "InvalidRequest"),
        (
            rule(&["GET"], &["*"])
                .allowed_headers("x-*-*")
                .build()
                .unwrap(),
            "InvalidRequest",
        ),
    ] {
        let refused = s3
            .put_bucket_cors()
            .bucket("cors-config")
            .cors_configuration(configuration(vec![bad]))
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_code(&refused).as_deref(), Some(code));
    }
    let too_many = vec![rule(&["GET"], &["*"]).build().unwrap(); 101];
    let refused = s3
        .put_bucket_cors()
        .bucket("cors-config")
        .cors_configuration(configuration(too_many))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&refused).as_deref(), Some("MalformedXML"));
    let stored = s3
        .get_bucket_cors()
        .bucket("cors-config")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.cors_rules(),
        rules.as_slice(),
        "a refused PUT changed nothing"
    );

    let other = server.add_user("cors-other", None);
    let stranger = server.client_as(&other);
    let denied = stranger
        .get_bucket_cors()
        .bucket("cors-config")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&denied).as_deref(), Some("AccessDenied"));
    let denied = stranger
        .delete_bucket_cors()
        .bucket("cors-config")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&denied).as_deref(), Some("AccessDenied"));

    server.restart();
    let s3 = server.client();
    let stored = s3
        .get_bucket_cors()
        .bucket("cors-config")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.cors_rules(),
        rules.as_slice(),
        "rules survive a restart"
    );
    s3.delete_bucket_cors()
        .bucket("cors-config")
        .send()
        .await
        .unwrap();
    let gone = s3
        .get_bucket_cors()
        .bucket("cors-config")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&gone).as_deref(),
        Some("NoSuchCORSConfiguration")
    );
    s3.delete_bucket_cors()
        .bucket("cors-config")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn put_bucket_cors_needs_a_body_digest() {
    // Goal: S3 requires Content-MD5 (or a flexible checksum) on PutBucketCors; a signed request
    // without either is 400 InvalidRequest and stores nothing.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("cors-md5").send().await.unwrap();
    let body = "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>\
                <AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>";
    let request = common::RawRequest::new("PUT", "/cors-md5", &server.address)
        .query("cors=")
        .header("content-length", &body.len().to_string())
        .payload(&ringstore::s3::auth::sigv4::sha256_hex(body.as_bytes()));
    let (head, _) = request.signed_head();
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body.as_bytes());
    let response = exchange(&server, &raw);
    assert_eq!(response.status, 400, "{}", response.body_text());
    assert_eq!(response.code().as_deref(), Some("InvalidRequest"));
    let missing = s3
        .get_bucket_cors()
        .bucket("cors-md5")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&missing).as_deref(),
        Some("NoSuchCORSConfiguration")
    );
}

#[tokio::test]
async fn preflights_and_actual_requests_get_s3s_answers() {
    // Goal: OPTIONS is answered before authentication from the rules alone — 400 without an
    // Origin, 403 AccessForbidden (with Method and ResourceType) for no bucket, no rules or no
    // matching rule, 200 with the matched rule's headers otherwise (requested headers checked
    // case-insensitively and echoed lowercase) — and actual requests with an Origin carry the
    // matched rule's headers, errors included, while unmatched ones carry none.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("cors-pre").send().await.unwrap();
    let path = "/cors-pre/some/key";

    let no_origin = unsigned(&server, "OPTIONS", path, &[]);
    assert_eq!(
        (no_origin.status, no_origin.code().as_deref()),
        (400, Some("BadRequest"))
    );
    let no_rules = unsigned(
        &server,
        "OPTIONS",
        path,
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "PUT"),
        ],
    );
    assert_eq!(no_rules.status, 403);
    assert_eq!(no_rules.code().as_deref(), Some("AccessForbidden"));
    assert_eq!(field(&no_rules, "Method").as_deref(), Some("PUT"));
    assert_eq!(field(&no_rules, "ResourceType").as_deref(), Some("BUCKET"));
    let no_bucket = unsigned(
        &server,
        "OPTIONS",
        "/cors-missing/key",
        &[("Origin", "https://app.example")],
    );
    assert_eq!(no_bucket.status, 403);
    assert_eq!(field(&no_bucket, "Method").as_deref(), Some("OPTIONS"));

    s3.put_bucket_cors()
        .bucket("cors-pre")
        .cors_configuration(configuration(vec![
            rule(&["GET", "PUT"], &["https://*.example"])
                .allowed_headers("content-type")
                .allowed_headers("x-amz-meta-*")
                .expose_headers("ETag")
                .max_age_seconds(600)
                .build()
                .unwrap(),
            rule(&["GET"], &["*"]).build().unwrap(),
        ]))
        .send()
        .await
        .unwrap();

    let allowed = unsigned(
        &server,
        "OPTIONS",
        path,
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "PUT"),
            (
                "Access-Control-Request-Headers",
                "Content-Type,X-Amz-Meta-Color",
            ),
        ],
    );
    assert_eq!(allowed.status, 200, "{}", allowed.body_text());
    assert_eq!(
        allowed.header("Access-Control-Allow-Origin"),
        Some("https://app.example")
    );
    assert_eq!(
        allowed.header("Access-Control-Allow-Credentials"),
        Some("true")
    );
    assert_eq!(
        allowed.header("Access-Control-Allow-Methods"),
        Some("GET, PUT")
    );
    assert_eq!(
        allowed.header("Access-Control-Allow-Headers"),
        Some("content-type, x-amz-meta-color")
    );
    assert_eq!(
        allowed.header("Access-Control-Expose-Headers"),
        Some("ETag")
    );
    assert_eq!(allowed.header("Access-Control-Max-Age"), Some("600"));
    assert_eq!(
        allowed.header("Vary"),
        Some("Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
    );
    assert!(allowed.body.is_empty());

    let any_origin = unsigned(
        &server,
        "OPTIONS",
        path,
        &[
            ("Origin", "http://elsewhere:1234"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert_eq!(any_origin.status, 200);
    assert_eq!(any_origin.header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(any_origin.header("Access-Control-Allow-Credentials"), None);

    for (origin, method, headers) in [
        ("http://elsewhere:1234", "PUT", None),
        ("https://app.example", "DELETE", None),
        ("https://app.example", "PUT", Some("x-amz-acl")),
        ("https://app.example/", "PUT", None),
    ] {
        let mut sent = vec![
            ("Origin", origin),
            ("Access-Control-Request-Method", method),
        ];
        if let Some(headers) = headers {
            sent.push(("Access-Control-Request-Headers", headers));
        }
        let refused = unsigned(&server, "OPTIONS", path, &sent);
        assert_eq!(refused.status, 403, "{origin} {method} {headers:?}");
        assert_eq!(refused.code().as_deref(), Some("AccessForbidden"));
        assert_eq!(field(&refused, "Method").as_deref(), Some(method));
        assert_eq!(field(&refused, "ResourceType").as_deref(), Some("OBJECT"));
        assert_eq!(refused.header("Access-Control-Allow-Origin"), None);
    }
    let no_method = unsigned(
        &server,
        "OPTIONS",
        path,
        &[("Origin", "https://app.example")],
    );
    assert_eq!(
        (no_method.status, no_method.code().as_deref()),
        (400, Some("BadRequest"))
    );

    // Actual requests: an anonymous GET of a private missing key fails (403), with the headers
    // of the rule its origin and method match; an origin no rule allows gets none.
    let denied = unsigned(&server, "GET", path, &[("Origin", "https://app.example")]);
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.header("Access-Control-Allow-Origin"),
        Some("https://app.example")
    );
    assert_eq!(denied.header("Access-Control-Expose-Headers"), Some("ETag"));
    let other = unsigned(&server, "PUT", path, &[("Origin", "http://elsewhere:1234")]);
    assert_eq!(other.header("Access-Control-Allow-Origin"), None);
    assert_eq!(other.header("Vary"), None);
    let plain = unsigned(&server, "GET", path, &[]);
    assert_eq!(plain.header("Access-Control-Allow-Origin"), None);
}

#[tokio::test]
async fn a_browser_uploads_from_an_allowed_origin_only() {
    // Goal: the whole CORS path as a browser takes it. Headless Chromium loads a page from
    // http://localhost:PORT (allowed by `http://localhost:*`), PUTs a file to a presigned URL
    // with fetch() (a preflighted request: PUT, and a Content-Type that is not safelisted), reads
    // the ETag the rule exposes, and GETs the file back. The same page from http://127.0.0.1:PORT
    // (no rule allows it) is blocked by the browser on both requests, and its PUT never reaches
    // the bucket.
    let (chromium, js) = common::browser();
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("cors-web").send().await.unwrap();
    s3.put_bucket_cors()
        .bucket("cors-web")
        .cors_configuration(configuration(vec![rule(
            &["GET", "PUT"],
            &["http://localhost:*"],
        )
        .allowed_headers("Content-Type")
        .expose_headers("ETag")
        .build()
        .unwrap()]))
        .send()
        .await
        .unwrap();
    let expires =
        aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(600))
            .unwrap();
    let put_url = s3
        .put_object()
        .bucket("cors-web")
        .key("from-browser.txt")
        .presigned(expires.clone())
        .await
        .unwrap();
    let get_url = s3
        .get_object()
        .bucket("cors-web")
        .key("from-browser.txt")
        .presigned(expires)
        .await
        .unwrap();
    let body = "uploaded by a page on another origin";
    let output = tokio::process::Command::new("node")
        .arg("browser/cors_upload.mjs")
        .current_dir(&js)
        .env("RINGSTORE_PUT_URL", put_url.uri())
        .env("RINGSTORE_GET_URL", get_url.uri())
        .env("RINGSTORE_BODY", body)
        .env("CHROMIUM", &chromium)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(180), output)
        .await
        .expect("the browser run finished within 180 s")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "browser run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    let etag = format!("\"{}\"", common::md5_hex(body.as_bytes()));
    let allowed = &seen["allowed"];
    assert_eq!(allowed["put"]["status"], 200, "{seen}");
    assert_eq!(
        allowed["put"]["etag"],
        etag.as_str(),
        "ETag exposed: {seen}"
    );
    assert_eq!(allowed["get"]["status"], 200, "{seen}");
    assert_eq!(allowed["get"]["text"], body, "{seen}");
    assert_eq!(allowed["get"]["etag"], etag.as_str(), "{seen}");
    let disallowed = &seen["disallowed"];
    assert!(
        disallowed["put"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("TypeError")),
        "the browser blocks the PUT: {seen}"
    );
    assert!(
        disallowed["get"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("TypeError")),
        "the browser blocks reading the GET: {seen}"
    );
    let stored = common::get_bytes(&s3, "cors-web", "from-browser.txt", None).await;
    assert_eq!(
        stored,
        body.as_bytes(),
        "the refused preflight kept the PUT away"
    );
}

#[tokio::test]
async fn hostile_rules_and_preflights_change_nothing() {
    // Goal: a rule value that would split a response (CR/LF in ExposeHeader, raw or as a
    // character reference), a control character an XML answer cannot carry, or text after the
    // document is MalformedXML and stores nothing; a preflight on the service root is refused as
    // CORS (400 without Origin, 403 with one); an echoed `response-*` value holding CR/LF cannot
    // add a header.
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket()
        .bucket("cors-hostile")
        .send()
        .await
        .unwrap();
    let put = |body: &str| {
        let body = body.to_string();
        let request = common::RawRequest::new("PUT", "/cors-hostile", &server.address)
            .query("cors=")
            .header("content-length", &body.len().to_string())
            .header("content-md5", &common::md5_base64(body.as_bytes()))
            .payload(&ringstore::s3::auth::sigv4::sha256_hex(body.as_bytes()));
        let (head, _) = request.signed_head();
        let mut raw = head.into_bytes();
        raw.extend_from_slice(body.as_bytes());
        exchange(&server, &raw)
    };
    let rule = |inner: &str| {
        format!(
            "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>\
             <AllowedOrigin>*</AllowedOrigin>{inner}</CORSRule></CORSConfiguration>"
        )
    };
    assert_eq!(put(&rule("<ExposeHeader>ETag</ExposeHeader>")).status, 200);
    for hostile in [
        rule("<ExposeHeader>ETag&#13;&#10;Set-Cookie: x=1</ExposeHeader>"),
        rule("<ExposeHeader>ETag\r\nSet-Cookie: x=1</ExposeHeader>"),
        rule("<ID>&#31;</ID>"),
        rule("<AllowedHeader>&#8;</AllowedHeader>"),
        rule("<ExposeHeader></ExposeHeader>"),
        rule("<MaxAgeSeconds>-5</MaxAgeSeconds>"),
        format!("{}garbage", rule("")),
    ] {
        let refused = put(&hostile);
        assert_eq!(
            (refused.status, refused.code().as_deref()),
            (400, Some("MalformedXML")),
            "{hostile}: {}",
            refused.body_text()
        );
    }
    let preflight = unsigned(
        &server,
        "OPTIONS",
        "/cors-hostile/k",
        &[
            ("Origin", "https://a.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert_eq!(preflight.status, 200);
    assert_eq!(
        preflight.header("Access-Control-Expose-Headers"),
        Some("ETag")
    );
    assert_eq!(preflight.header("Set-Cookie"), None);

    let root = unsigned(&server, "OPTIONS", "/", &[]);
    assert_eq!(
        (root.status, root.code().as_deref()),
        (400, Some("BadRequest"))
    );
    let root = unsigned(
        &server,
        "OPTIONS",
        "/",
        &[
            ("Origin", "https://a.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert_eq!(
        (root.status, root.code().as_deref()),
        (403, Some("AccessForbidden"))
    );

    common::put_bytes(&s3, "cors-hostile", "k", b"body").await;
    let (head, _) = common::RawRequest::new("GET", "/cors-hostile/k", &server.address)
        .query("response-content-type=text%2Fplain%0D%0ASet-Cookie%3A%20x%3D1")
        .signed_head();
    let split = exchange(&server, head.as_bytes());
    assert_eq!(split.status, 200);
    assert_eq!(split.header("Set-Cookie"), None);
    assert_eq!(
        split.header("Content-Type"),
        Some("text/plain  Set-Cookie: x=1")
    );
}
