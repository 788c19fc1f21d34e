//! The web console (issue 27) in a real headless Chromium (tests/js/browser/console.mjs, through
//! playwright-core), then the server's own state checked with aws-sdk-s3: what the page did is
//! really stored. Screenshots go to target/console-screenshots (on failure too); with
//! RINGSTORE_UPDATE_SCREENSHOTS=1 the README's pictures in docs/ are replaced by this run's.

mod common;

use common::{TestServer, ACCESS_KEY, SECRET_KEY};

#[tokio::test]
async fn the_console_in_a_real_browser() {
    // Goal: a person can do in the console what the issue lists — sign in (a wrong secret
    // refused), create a bucket, upload 20 MiB by drag and drop as a multipart upload with its
    // progress shown, browse folders and pages, share a link that works outside the browser,
    // see a policy refused with the server's reason and then saved, delete, create a user, watch
    // the dashboard — and a non-admin user gets buckets but not the users page. The page must
    // raise no script error or CSP violation on the way.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (chromium, js) = common::browser();
    let server = TestServer::start();
    let s3 = server.client();
    // The folders the page browses (the page makes a bucket of its own, console-made).
    s3.create_bucket()
        .bucket("console-e2e")
        .send()
        .await
        .unwrap();
    let mut keys: Vec<(String, &[u8])> = vec![
        ("docs/a.txt".into(), b"a"),
        ("docs/b.txt".into(), b"readable by anyone"),
    ];
    keys.extend((0..250).map(|index| (format!("many/k{index:03}"), &b"x"[..])));
    for (key, body) in keys {
        s3.put_object()
            .bucket("console-e2e")
            .key(key)
            .body(body.to_vec().into())
            .send()
            .await
            .unwrap();
    }
    // A stored page that tries to read the console's signed-in secret (it runs in the same tab).
    let stored_page = "<title>untouched</title><script>try { document.title = 'read: ' + \
        sessionStorage.getItem('ringstore-console-credentials'); } catch (error) { \
        document.title = 'blocked: ' + error.name; }</script>";
    s3.put_object()
        .bucket("console-e2e")
        .key("docs/stored.html")
        .content_type("text/html")
        .body(stored_page.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
    let screenshots = root.join("target/console-screenshots");
    let node = tokio::process::Command::new("node")
        .arg("browser/console.mjs")
        .current_dir(&js)
        .env("RINGSTORE_ENDPOINT", &server.endpoint)
        .env("RINGSTORE_ACCESS_KEY", ACCESS_KEY)
        .env("RINGSTORE_SECRET_KEY", SECRET_KEY)
        .env("SCREENSHOTS", &screenshots)
        .env("CHROMIUM", &chromium)
        .kill_on_drop(true)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run node");
    let output = tokio::time::timeout(std::time::Duration::from_secs(300), node.wait_with_output())
        .await
        .expect("the browser run finished within 300 s")
        .expect("node ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "browser run failed (screenshots in {}):\n{stdout}\n{}",
        screenshots.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");

    // What the page showed.
    assert_eq!(seen["redirect"]["status"], 308, "{seen}");
    assert!(
        seen["csp"]
            .as_str()
            .unwrap()
            .contains("frame-ancestors 'none'"),
        "{seen}"
    );
    assert_eq!(seen["frameOptions"], "DENY");
    assert_eq!(seen["wrongSecret"], "Wrong access key or secret key.");
    assert_eq!(seen["sessionAfterWrongSecret"], 0);
    assert_eq!(seen["sessionAfterSignOut"], 0);
    let progress: Vec<&str> = seen["progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        progress
            .iter()
            .any(|label| label.ends_with(" %") && !["0 %", "100 %"].contains(label)),
        "no progress between 0 and 100 % was shown: {progress:?}"
    );
    assert!(
        seen["detailsText"].as_str().unwrap().contains("-3\""),
        "a 3-part ETag: {seen}"
    );
    assert_eq!(seen["shareStatus"], 200);
    assert_eq!(seen["shareSha256Matches"], true);
    assert_eq!(seen["crumbs"], "Buckets / console-e2e / docs");
    let pages: Vec<usize> = seen["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|page| page.as_array().unwrap().len())
        .collect();
    assert_eq!(pages, [100, 100, 50]);
    assert_eq!(seen["pages"][2][49], "many/k249");
    assert_eq!(seen["lastPageHasNext"], false);
    assert_eq!(seen["backToPage"], "Page 2");
    assert!(
        seen["policyError"]
            .as_str()
            .unwrap()
            .starts_with("MalformedPolicy: "),
        "{seen}"
    );
    assert!(seen["dashboardPoints"].as_u64().unwrap() >= 3, "{seen}");
    assert_eq!(
        seen["storedPageTitle"], "blocked: SecurityError",
        "a stored page ran with the console's storage: {seen}"
    );
    assert!(
        !seen["bobNav"].as_str().unwrap().contains("Users"),
        "{seen}"
    );
    assert!(seen["bobUsersPage"]
        .as_str()
        .unwrap()
        .contains("needs a key with the admin role"));
    assert_eq!(seen["bobBuckets"], serde_json::json!(["bob-bucket"]));

    // HEAD answers as GET would, without the bytes.
    let get = common::exchange(
        &server,
        b"GET /_ringstore/console/js/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    let head = common::exchange(
        &server,
        b"HEAD /_ringstore/console/js/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((get.status, head.status), (200, 200));
    assert!(head.body.is_empty() && !get.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );

    // What the server holds.
    let big = s3
        .head_object()
        .bucket("console-e2e")
        .key("big.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(big.content_length(), Some(20 * 1024 * 1024));
    assert!(big.e_tag().unwrap().ends_with("-3\""), "{:?}", big.e_tag());
    let gone = s3
        .head_object()
        .bucket("console-e2e")
        .key("docs/a.txt")
        .send()
        .await;
    assert!(gone.is_err(), "docs/a.txt was deleted in the page");
    let policy = s3
        .get_bucket_policy()
        .bucket("console-e2e")
        .send()
        .await
        .unwrap();
    assert!(policy.policy().unwrap().contains("console-e2e/docs/*"));
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket("console-e2e")
        .send()
        .await
        .unwrap();
    assert_eq!(lifecycle.rules()[0].id(), Some("expire-tmp"));
    let cors = s3
        .get_bucket_cors()
        .bucket("console-e2e")
        .send()
        .await
        .unwrap();
    assert_eq!(
        cors.cors_rules()[0].allowed_origins(),
        ["https://example.com"]
    );
    assert!(
        seen["corsError"]
            .as_str()
            .unwrap()
            .starts_with("MalformedXML"),
        "{seen}"
    );
    let acl = s3
        .get_bucket_acl()
        .bucket("console-e2e")
        .send()
        .await
        .unwrap();
    assert!(
        acl.grants().iter().any(|grant| grant
            .grantee()
            .and_then(|g| g.uri())
            .is_some_and(|uri| uri.ends_with("AllUsers"))),
        "public-read applied: {acl:?}"
    );
    let versioning = s3
        .get_bucket_versioning()
        .bucket("console-e2e")
        .send()
        .await
        .unwrap();
    assert_eq!(
        versioning.status().map(|status| status.as_str()),
        Some("Enabled")
    );
    let anonymous = common::exchange(
        &server,
        b"GET /console-e2e/docs/b.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        anonymous.status, 200,
        "the saved policy lets anyone read docs/"
    );
    assert_eq!(anonymous.body, b"readable by anyone");
    let users = std::process::Command::new(env!("CARGO_BIN_EXE_ringstore"))
        .args(["user", "--data-dir"])
        .arg(server.data_dir())
        .arg("list")
        .output()
        .unwrap();
    let users = String::from_utf8_lossy(&users.stdout);
    assert!(users.contains("console-bob") && users.contains(seen["bob"].as_str().unwrap()));
    let buckets = s3.list_buckets().send().await.unwrap();
    let names: Vec<&str> = buckets
        .buckets()
        .iter()
        .filter_map(|bucket| bucket.name())
        .collect();
    // ListBuckets lists the requester's own: bob's bucket is his.
    assert_eq!(names, ["console-e2e", "console-made"]);
    let bob = server.client_as(&common::TestUser {
        access_key: seen["bob"].as_str().unwrap().to_string(),
        secret_key: seen["bobSecret"].as_str().unwrap().to_string(),
        canonical_id: String::new(),
        display_name: "console-bob".to_string(),
    });
    let bobs = bob.list_buckets().send().await.unwrap();
    let names: Vec<&str> = bobs
        .buckets()
        .iter()
        .filter_map(|bucket| bucket.name())
        .collect();
    assert_eq!(
        names,
        ["bob-bucket"],
        "bob signs with the secret the page showed once"
    );

    if std::env::var_os("RINGSTORE_UPDATE_SCREENSHOTS").is_some() {
        for name in ["console.png", "dashboard.png"] {
            std::fs::copy(screenshots.join(name), root.join("docs").join(name)).unwrap();
        }
    }
}
