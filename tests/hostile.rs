//! A table of hostile and malformed requests over raw TCP: each gets its exact status (and S3
//! code where there is one), and the server answers a normal request right after every case.

mod common;

use std::io::{BufReader, Read, Write};
use std::time::Duration;

use common::{read_response, RawRequest, TestServer};
use ringstore::s3::auth::sigv4;

/// One case: what to send and what must come back.
struct Case {
    name: String,
    request: Vec<u8>,
    status: u16,
    code: Option<&'static str>,
}

fn raw(name: &str, request: impl Into<Vec<u8>>, status: u16, code: Option<&'static str>) -> Case {
    Case {
        name: name.to_string(),
        request: request.into(),
        status,
        code,
    }
}

#[allow(clippy::too_many_arguments)] // a table row: every field is a column
fn signed(
    server: &TestServer,
    name: &str,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
    extra: &[(&str, &str)],
    status: u16,
    code: Option<&'static str>,
) -> Case {
    let mut request =
        RawRequest::new(method, path, &server.address).payload(&sigv4::sha256_hex(body));
    request.query = query.to_string();
    if !body.is_empty() {
        request = request.header("content-length", &body.len().to_string());
    }
    for (header, value) in extra {
        request = request.header(header, value);
    }
    let (head, _) = request.signed_head();
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    Case {
        name: name.to_string(),
        request: bytes,
        status,
        code,
    }
}

/// A request signed correctly by another user (not the bucket's owner).
#[allow(clippy::too_many_arguments)]
fn signed_as(
    server: &TestServer,
    user: &common::TestUser,
    name: &str,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
    status: u16,
    code: Option<&'static str>,
) -> Case {
    let mut request =
        RawRequest::new(method, path, &server.address).payload(&sigv4::sha256_hex(body));
    request.access_key = user.access_key.clone();
    request.secret = user.secret_key.clone();
    request.query = query.to_string();
    if !body.is_empty() {
        request = request.header("content-length", &body.len().to_string());
    }
    let (head, _) = request.signed_head();
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    Case {
        name: name.to_string(),
        request: bytes,
        status,
        code,
    }
}

fn send(server: &TestServer, case: &Case) -> (u16, Option<String>) {
    let mut stream = server.connect();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    // The server may answer and close before reading everything; a failed write is fine then.
    let _ = stream.write_all(&case.request);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut reader = BufReader::new(stream);
    match read_response(&mut reader, case.request.starts_with(b"HEAD ")) {
        Ok(response) => (response.status, response.code()),
        Err(error) => panic!("{}: no response ({error})", case.name),
    }
}

fn healthy(server: &TestServer) {
    let (head, _) = RawRequest::new("GET", "/", &server.address).signed_head();
    let response = common::exchange(server, head.as_bytes());
    assert_eq!(
        response.status, 200,
        "server stopped answering normal requests"
    );
}

#[test]
fn hostile_request_table() {
    let server = TestServer::start();
    let host = server.address.clone();
    let mut cases: Vec<Case> = Vec::new();
    // Heads: size, shape, version, framing.
    cases.push(raw(
        "endless header",
        format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nX: {}\r\n\r\n",
            "a".repeat(40_000)
        ),
        431,
        None,
    ));
    let many: String = (0..120).map(|i| format!("X-{i}: v\r\n")).collect();
    cases.push(raw(
        "too many headers",
        format!("GET / HTTP/1.1\r\nHost: {host}\r\n{many}\r\n"),
        431,
        None,
    ));
    for (name, line) in [
        ("HTTP/2.0", "GET / HTTP/2.0"),
        ("HTTP/3", "GET / HTTP/3"),
        ("HTTP/1.2", "GET / HTTP/1.2"),
        ("lower-case version", "GET / http/1.1"),
        ("no version", "GET /"),
        ("asterisk target", "GET * HTTP/1.1"),
        ("absolute target", "GET http://example/ HTTP/1.1"),
        ("empty target", "GET  HTTP/1.1"),
        ("NUL in target", "GET /\0 HTTP/1.1"),
        ("tab in method", "G\tT / HTTP/1.1"),
        ("garbage", "\x16\x03\x01\x02\x00"),
    ] {
        let expected = if name.starts_with("HTTP/") || name == "lower-case version" {
            505
        } else {
            400
        };
        cases.push(raw(
            name,
            format!("{line}\r\nHost: {host}\r\n\r\n"),
            expected,
            None,
        ));
    }
    for (name, header) in [
        ("space before colon", "Host : x"),
        ("no colon", "JustAName"),
        ("NUL in header name", "X\0Y: 1"),
        ("control char in name", "X\x01Y: 1"),
        ("empty header name", ": value"),
    ] {
        cases.push(raw(
            name,
            format!("GET / HTTP/1.1\r\n{header}\r\n\r\n"),
            400,
            None,
        ));
    }
    for (name, headers, status) in [
        ("negative length", "Content-Length: -1", 400),
        (
            "overflowing length",
            "Content-Length: 99999999999999999999999",
            400,
        ),
        ("hex length", "Content-Length: 0x10", 400),
        ("length with sign", "Content-Length: +5", 400),
        ("empty length", "Content-Length: ", 400),
        (
            "conflicting lengths",
            "Content-Length: 5\r\nContent-Length: 6",
            400,
        ),
        ("length list", "Content-Length: 5, 6", 400),
        (
            "length and chunked (smuggling)",
            "Content-Length: 5\r\nTransfer-Encoding: chunked",
            400,
        ),
        (
            "chunked and length (smuggling)",
            "Transfer-Encoding: chunked\r\nContent-Length: 5",
            400,
        ),
        ("gzip coding", "Transfer-Encoding: gzip", 501),
        (
            "double chunked",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
            501,
        ),
        ("chunked list", "Transfer-Encoding: gzip, chunked", 501),
        ("identity coding", "Transfer-Encoding: identity", 501),
    ] {
        cases.push(raw(
            name,
            format!("PUT /b/k HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n\r\nhello"),
            status,
            None,
        ));
    }
    // Paths: encoding, length, traversal (resolved before auth, so unsigned requests suffice).
    for (name, path) in [
        ("bad escape", "/b/%zz"),
        ("cut escape", "/b/%4"),
        ("trailing percent", "/b/k%"),
        ("invalid UTF-8", "/b/%ff%fe"),
        ("overlong UTF-8", "/b/%c0%af"),
        ("lone surrogate", "/b/%ed%a0%80"),
    ] {
        cases.push(raw(
            name,
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
            400,
            Some("InvalidArgument"),
        ));
    }
    cases.push(raw(
        "key of 1025 bytes",
        format!(
            "GET /b/{} HTTP/1.1\r\nHost: {host}\r\n\r\n",
            "k".repeat(1025)
        ),
        400,
        Some("KeyTooLongError"),
    ));
    cases.push(raw(
        "bad query escape",
        format!("GET /b?list-type=2&prefix=%zz HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        400,
        Some("InvalidArgument"),
    ));
    cases.push(raw(
        "unsigned request to a private bucket",
        format!("GET /hostile/object HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        403,
        Some("AccessDenied"),
    ));
    // Signed requests.
    for bucket in [
        "ab",
        "AB",
        "a..b",
        "-ab",
        "ab-",
        "a_b",
        "a b",
        "192.168.1.1",
        &"a".repeat(64),
        "xn--bucket",
        "bucket-s3alias",
        "a.-b",
        "é-bucket",
    ] {
        let path = format!("/{}", sigv4::uri_encode(bucket, false));
        cases.push(signed(
            &server,
            &format!("bucket name {bucket:?}"),
            "PUT",
            &path,
            "",
            b"",
            &[],
            400,
            Some("InvalidBucketName"),
        ));
    }
    signed_setup(&server);
    for method in ["FOO", "TRACE", "PATCH", "CONNECT"] {
        cases.push(signed(
            &server,
            &format!("method {method}"),
            method,
            "/hostile/k",
            "",
            b"",
            &[],
            405,
            Some("MethodNotAllowed"),
        ));
    }
    for (name, query, status, code) in [
        (
            "max-keys huge",
            "list-type=2&max-keys=999999999999",
            400,
            Some("InvalidArgument"),
        ),
        ("max-keys big", "list-type=2&max-keys=2147483647", 200, None),
        (
            "max-keys negative",
            "list-type=2&max-keys=-1",
            400,
            Some("InvalidArgument"),
        ),
        (
            "max-keys text",
            "list-type=2&max-keys=abc",
            400,
            Some("InvalidArgument"),
        ),
        ("max-keys zero", "list-type=2&max-keys=0", 200, None),
        (
            "bad encoding-type",
            "list-type=2&encoding-type=base64",
            400,
            Some("InvalidArgument"),
        ),
        (
            "bad continuation token",
            "list-type=2&continuation-token=%25%25",
            400,
            Some("InvalidArgument"),
        ),
        (
            "duplicate prefix",
            "list-type=2&prefix=a&prefix=b",
            400,
            Some("InvalidArgument"),
        ),
        (
            "version marker alone",
            "versions&version-id-marker=null",
            400,
            Some("InvalidArgument"),
        ),
    ] {
        cases.push(signed(
            &server,
            name,
            "GET",
            "/hostile",
            query,
            b"",
            &[],
            status,
            code,
        ));
    }
    for (name, range, status) in [
        ("range overflow", "bytes=99999999999999999999999-", 200),
        ("range past end", "bytes=1000-2000", 416),
        ("range reversed", "bytes=5-1", 200),
        ("range multi", "bytes=0-1,2-3", 200),
        ("range garbage", "bytes=abc", 200),
        ("range other unit", "items=0-1", 200),
        ("range suffix zero", "bytes=-0", 416),
        ("range empty", "bytes=-", 200),
    ] {
        cases.push(signed(
            &server,
            name,
            "GET",
            "/hostile/object",
            "",
            b"",
            &[("range", range)],
            status,
            if status == 416 {
                Some("InvalidRange")
            } else {
                None
            },
        ));
    }
    let entity = b"<!DOCTYPE c [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><CreateBucketConfiguration><LocationConstraint>&b;</LocationConstraint></CreateBucketConfiguration>".to_vec();
    let deep = format!(
        "{}{}",
        "<CreateBucketConfiguration>".to_string() + &"<x>".repeat(500),
        "</x>".repeat(500) + "</CreateBucketConfiguration>"
    )
    .into_bytes();
    let huge = format!(
        "<CreateBucketConfiguration>{}</CreateBucketConfiguration>",
        " ".repeat(3 * 1024 * 1024)
    )
    .into_bytes();
    for (name, body) in [
        ("entity expansion", entity),
        ("deep nesting", deep),
        ("3 MiB XML", huge),
        ("not XML", b"{\"json\": true}".to_vec()),
        (
            "two roots",
            b"<CreateBucketConfiguration/><CreateBucketConfiguration/>".to_vec(),
        ),
    ] {
        cases.push(signed(
            &server,
            name,
            "PUT",
            "/hostile-xml",
            "",
            &body,
            &[],
            400,
            Some("MalformedXML"),
        ));
    }
    let delete_body = b"<Delete><Object><Key>a</Key></Object></Delete>";
    cases.push(signed(
        &server,
        "DeleteObjects without checksum",
        "POST",
        "/hostile",
        "delete",
        delete_body,
        &[],
        400,
        Some("InvalidRequest"),
    ));
    for (name, content_md5, code) in [
        ("Content-MD5 not base64", "!!!", "InvalidDigest"),
        ("Content-MD5 too short", "AAAA", "InvalidDigest"),
        ("Content-MD5 wrong", "1B2M2Y8AsgTpgAmY7PhCfg==", "BadDigest"),
    ] {
        cases.push(signed(
            &server,
            name,
            "PUT",
            "/hostile/md5",
            "",
            b"body",
            &[("content-md5", content_md5)],
            400,
            Some(code),
        ));
    }
    for (name, key) in [
        ("dot-dot key", "/hostile/../../../etc/passwd"),
        ("encoded dot-dot", "/hostile/%2e%2e/%2e%2e/x"),
        ("double-encoded dot-dot", "/hostile/%252e%252e/x"),
        ("slashes key", "/hostile//////x"),
        ("control chars key", "/hostile/a%01%1fb"),
        ("backslash key", "/hostile/..%5c..%5cx"),
    ] {
        cases.push(signed(
            &server,
            name,
            "PUT",
            key,
            "",
            b"stored as a key",
            &[],
            200,
            None,
        ));
    }
    // A version id ringstore could not have given, or an empty one: S3's 400 InvalidArgument; one
    // of the right shape that does not exist: 404 NoSuchVersion.
    for (name, version, status, code) in [
        ("versionId other", "versionId=abc", 400, "InvalidArgument"),
        ("versionId empty", "versionId=", 400, "InvalidArgument"),
        (
            "versionId absent",
            "versionId=00000000000000010000000000000001",
            404,
            "NoSuchVersion",
        ),
    ] {
        cases.push(signed(
            &server,
            name,
            "GET",
            "/hostile/object",
            version,
            b"",
            &[],
            status,
            Some(code),
        ));
    }
    cases.push(signed(
        &server,
        "part number zero",
        "PUT",
        "/hostile/mp",
        "partNumber=0&uploadId=x",
        b"x",
        &[],
        400,
        Some("InvalidArgument"),
    ));
    cases.push(signed(
        &server,
        "unknown upload",
        "PUT",
        "/hostile/mp",
        "partNumber=1&uploadId=nope",
        b"x",
        &[],
        404,
        Some("NoSuchUpload"),
    ));
    cases.push(signed(
        &server,
        "two checksums",
        "PUT",
        "/hostile/sum",
        "",
        b"x",
        &[
            ("x-amz-checksum-crc32", "jHNlIQ=="),
            ("x-amz-checksum-sha1", "EQ4/bZhbT8BJbB3ZAA9JX/HZm1s="),
        ],
        400,
        Some("InvalidRequest"),
    ));
    cases.push(signed(
        &server,
        "metadata over 2 KiB",
        "PUT",
        "/hostile/meta",
        "",
        b"x",
        &[("x-amz-meta-big", &"m".repeat(2100))],
        400,
        Some("MetadataTooLarge"),
    ));
    cases.push(signed(
        &server,
        "copy from nowhere",
        "PUT",
        "/hostile/copy",
        "",
        b"",
        &[("x-amz-copy-source", "nobucketname")],
        400,
        Some("InvalidArgument"),
    ));
    cases.push(signed(
        &server,
        "copy of missing key",
        "PUT",
        "/hostile/copy",
        "",
        b"",
        &[("x-amz-copy-source", "/hostile/missing")],
        404,
        Some("NoSuchKey"),
    ));

    cases.push(signed(
        &server,
        "PUT on the service",
        "PUT",
        "/",
        "",
        b"",
        &[],
        405,
        Some("MethodNotAllowed"),
    ));
    cases.push(signed(
        &server,
        "DELETE on the service",
        "DELETE",
        "/",
        "",
        b"",
        &[],
        405,
        Some("MethodNotAllowed"),
    ));
    cases.push(signed(
        &server,
        "POST on an object",
        "POST",
        "/hostile/object",
        "",
        b"",
        &[],
        405,
        Some("MethodNotAllowed"),
    ));
    cases.push(raw(
        "SigV2 header",
        format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nDate: now\r\nAuthorization: AWS key:c2ln\r\n\r\n"
        ),
        403,
        Some("AccessDenied"),
    ));
    cases.push(raw("SigV2 query, expired", format!("GET /hostile/object?AWSAccessKeyId=k&Signature=s&Expires=1 HTTP/1.1\r\nHost: {host}\r\n\r\n"), 403, Some("AccessDenied")));
    cases.push(raw("truncated Authorization", format!("GET / HTTP/1.1\r\nHost: {host}\r\nx-amz-date: 20260101T000000Z\r\nAuthorization: AWS4-HMAC-SHA256\r\n\r\n"), 400, Some("AuthorizationHeaderMalformed")));
    // Another user's valid signatures on the owner's private bucket: refused, nothing changed.
    let mallory = server.add_user("mallory", None);
    let acl_body =
        b"<AccessControlPolicy><AccessControlList></AccessControlList></AccessControlPolicy>";
    for (name, method, path, query, body) in [
        (
            "other user: GET object",
            "GET",
            "/hostile/object",
            "",
            &b""[..],
        ),
        (
            "other user: GET of a missing key",
            "GET",
            "/hostile/missing",
            "",
            &b""[..],
        ),
        (
            "other user: PUT object",
            "PUT",
            "/hostile/object",
            "",
            &b"overwrite"[..],
        ),
        (
            "other user: DELETE object",
            "DELETE",
            "/hostile/object",
            "",
            &b""[..],
        ),
        (
            "other user: list",
            "GET",
            "/hostile",
            "list-type=2",
            &b""[..],
        ),
        ("other user: GET ACL", "GET", "/hostile", "acl=", &b""[..]),
        (
            "other user: PUT ACL",
            "PUT",
            "/hostile",
            "acl=",
            &acl_body[..],
        ),
        (
            "other user: DELETE bucket",
            "DELETE",
            "/hostile",
            "",
            &b""[..],
        ),
        (
            "other user: start upload",
            "POST",
            "/hostile/object",
            "uploads=",
            &b""[..],
        ),
        (
            "other user: uploads",
            "GET",
            "/hostile",
            "uploads=",
            &b""[..],
        ),
        (
            "other user: location",
            "GET",
            "/hostile",
            "location=",
            &b""[..],
        ),
    ] {
        cases.push(signed_as(
            &server,
            &mallory,
            name,
            method,
            path,
            query,
            body,
            403,
            Some("AccessDenied"),
        ));
    }
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    for case in &cases {
        let (status, code) = send(&server, case);
        assert_eq!(status, case.status, "{}: status", case.name);
        if let Some(expected) = case.code {
            assert_eq!(code.as_deref(), Some(expected), "{}: code", case.name);
        }
        healthy(&server);
    }
    // The owner's object is untouched by everything above.
    let (head, _) = RawRequest::new("GET", "/hostile/object", &server.address).signed_head();
    assert_eq!(
        common::exchange(&server, head.as_bytes()).body,
        b"0123456789"
    );
    // Keys with '..' were stored by id: nothing was written outside the data dir.
    assert!(!server.data_dir().parent().unwrap().join("etc").exists());
    assert!(common::eventually(5, || server.temp_files().is_empty()));
}

fn signed_setup(server: &TestServer) {
    for (method, path, body) in [
        ("PUT", "/hostile", &b""[..]),
        ("PUT", "/hostile/object", &b"0123456789"[..]),
    ] {
        let mut request =
            RawRequest::new(method, path, &server.address).payload(&sigv4::sha256_hex(body));
        if !body.is_empty() {
            request = request.header("content-length", &body.len().to_string());
        }
        let (head, _) = request.signed_head();
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        assert_eq!(common::exchange(server, &bytes).status, 200);
    }
}

#[test]
fn chunk_framing_attacks() {
    // Goal: malformed chunked bodies are refused with 400 and store nothing.
    let server = TestServer::start();
    signed_setup(&server);
    for (name, body) in [
        ("bad size", "zz\r\nhello\r\n0\r\n\r\n"),
        ("negative size", "-5\r\nhello\r\n0\r\n\r\n"),
        ("huge size", "ffffffffffffffffff\r\nhello\r\n"),
        ("missing CRLF after data", "5\r\nhelloXX0\r\n\r\n"),
        ("endless size line", &"1".repeat(4000)),
        ("size with junk", "5 x\r\nhello\r\n0\r\n\r\n"),
        (
            "endless trailer",
            &format!("0\r\nX-T: {}\r\n\r\n", "t".repeat(10_000)),
        ),
        ("trailer without colon", "0\r\nnocolon\r\n\r\n"),
    ] {
        let (head, _) = RawRequest::new("PUT", "/hostile/chunked", &server.address)
            .header("transfer-encoding", "chunked")
            .payload("UNSIGNED-PAYLOAD")
            .signed_head();
        let mut stream = server.connect();
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body.as_bytes());
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        assert!(
            text.starts_with("HTTP/1.1 400"),
            "{name}: {}",
            &text[..text.len().min(100)]
        );
        healthy(&server);
    }
    let (head, _) = RawRequest::new("GET", "/hostile/chunked", &server.address).signed_head();
    assert_eq!(common::exchange(&server, head.as_bytes()).status, 404);
    assert!(common::eventually(5, || server.temp_files().is_empty()));
}
