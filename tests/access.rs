//! Users and access control against the real server: `ringstore user` while it runs, ownership,
//! canned ACLs, ACL XML and grant headers, anonymous requests, and removal of a user.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AccessControlPolicy, BucketCannedAcl, Grant, Grantee, ObjectCannedAcl, Owner, Permission, Type,
};
use common::{error_code, error_status, exchange, TestServer};

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
}

/// An unsigned request, as a browser or `curl` sends it.
fn anonymous(server: &TestServer, method: &str, path: &str, body: &str) -> common::RawResponse {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.address,
        body.len()
    );
    exchange(server, request.as_bytes())
}

async fn denied<T, E>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    what: &str,
) where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
{
    let error = match result {
        Ok(_) => panic!("{what}: expected AccessDenied, got success"),
        Err(error) => error,
    };
    assert_eq!(error_status(&error), Some(403), "{what}: {error:?}");
    if !what.starts_with("head") {
        assert_eq!(
            error_code(&error).as_deref(),
            Some("AccessDenied"),
            "{what}"
        );
    }
}

#[tokio::test]
async fn second_user_is_kept_out_of_private_buckets() {
    // Goal: a user made with `ringstore user add` while the server runs signs in at once, sees
    // only their own buckets, and is refused every read and write of the admin's private bucket;
    // a refused PUT leaves nothing behind.
    let server = TestServer::start();
    let admin = server.client();
    let alice_user = server.add_user("alice", Some("alice@example.com"));
    let alice = server.client_as(&alice_user);
    admin.create_bucket().bucket("admins").send().await.unwrap();
    put(&admin, "admins", "secret.txt", "admin data").await;
    alice.create_bucket().bucket("alices").send().await.unwrap();

    let names = |output: aws_sdk_s3::operation::list_buckets::ListBucketsOutput| -> Vec<String> {
        output
            .buckets()
            .iter()
            .filter_map(|bucket| bucket.name().map(str::to_string))
            .collect()
    };
    let listed = alice.list_buckets().send().await.unwrap();
    assert_eq!(
        listed.owner().unwrap().id(),
        Some(alice_user.canonical_id.as_str())
    );
    assert_eq!(listed.owner().unwrap().display_name(), Some("alice"));
    assert_eq!(names(listed), ["alices"]);
    assert_eq!(
        names(admin.list_buckets().send().await.unwrap()),
        ["admins"]
    );

    denied(
        alice
            .get_object()
            .bucket("admins")
            .key("secret.txt")
            .send()
            .await,
        "get",
    )
    .await;
    denied(
        alice
            .get_object()
            .bucket("admins")
            .key("absent")
            .send()
            .await,
        "get absent",
    )
    .await;
    denied(
        alice
            .head_object()
            .bucket("admins")
            .key("secret.txt")
            .send()
            .await,
        "head object",
    )
    .await;
    denied(
        alice.list_objects_v2().bucket("admins").send().await,
        "list",
    )
    .await;
    denied(
        alice.head_bucket().bucket("admins").send().await,
        "head bucket",
    )
    .await;
    denied(
        alice.get_bucket_acl().bucket("admins").send().await,
        "get acl",
    )
    .await;
    denied(
        alice
            .put_bucket_acl()
            .bucket("admins")
            .acl(BucketCannedAcl::PublicRead)
            .send()
            .await,
        "put acl",
    )
    .await;
    denied(
        alice
            .delete_object()
            .bucket("admins")
            .key("secret.txt")
            .send()
            .await,
        "delete",
    )
    .await;
    denied(
        alice.delete_bucket().bucket("admins").send().await,
        "delete bucket",
    )
    .await;
    denied(
        alice
            .put_object()
            .bucket("admins")
            .key("intruder")
            .body(ByteStream::from(vec![7u8; 256 * 1024]))
            .send()
            .await,
        "put",
    )
    .await;
    denied(
        alice
            .copy_object()
            .bucket("alices")
            .key("stolen")
            .copy_source("admins/secret.txt")
            .send()
            .await,
        "copy from",
    )
    .await;
    denied(
        alice
            .create_multipart_upload()
            .bucket("admins")
            .key("m")
            .send()
            .await,
        "create upload",
    )
    .await;
    // A name taken by another user is BucketAlreadyExists, not a takeover.
    let taken = alice
        .create_bucket()
        .bucket("admins")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&taken).as_deref(), Some("BucketAlreadyExists"));

    let keys: Vec<String> = admin
        .list_objects_v2()
        .bucket("admins")
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|object| object.key().map(str::to_string))
        .collect();
    assert_eq!(keys, ["secret.txt"]);
    assert!(
        server.temp_files().is_empty(),
        "refused PUT left {:?}",
        server.temp_files()
    );
    assert_eq!(server.stored_objects(), 1);
}

#[tokio::test]
async fn canned_acls_open_buckets_and_objects_to_others() {
    // Goal: public-read lets another user and anonymous requests list the bucket but not write;
    // objects stay private unless their own ACL opens them; authenticated-read keeps anonymous
    // requests out; public-read-write lets anonymous requests write, and they own what they write.
    let server = TestServer::start();
    let admin = server.client();
    let bob = server.client_as(&server.add_user("bob", None));
    admin
        .create_bucket()
        .bucket("shared")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    put(&admin, "shared", "private.txt", "p").await;
    admin
        .put_object()
        .bucket("shared")
        .key("public.txt")
        .acl(ObjectCannedAcl::PublicRead)
        .body(ByteStream::from_static(b"hello world"))
        .send()
        .await
        .unwrap();
    admin
        .put_object()
        .bucket("shared")
        .key("signed.txt")
        .acl(ObjectCannedAcl::AuthenticatedRead)
        .body(ByteStream::from_static(b"for users"))
        .send()
        .await
        .unwrap();

    let listed = bob.list_objects_v2().bucket("shared").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(3));
    bob.head_bucket().bucket("shared").send().await.unwrap();
    let body = bob
        .get_object()
        .bucket("shared")
        .key("public.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        &body.body.collect().await.unwrap().into_bytes()[..],
        b"hello world"
    );
    bob.get_object()
        .bucket("shared")
        .key("signed.txt")
        .send()
        .await
        .unwrap();
    denied(
        bob.get_object()
            .bucket("shared")
            .key("private.txt")
            .send()
            .await,
        "private object",
    )
    .await;
    denied(
        bob.put_object()
            .bucket("shared")
            .key("bob.txt")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "put into public-read",
    )
    .await;
    // Reading an absent key is NoSuchKey for whoever may list the bucket.
    let absent = bob
        .get_object()
        .bucket("shared")
        .key("absent")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&absent).as_deref(), Some("NoSuchKey"));

    let public = anonymous(&server, "GET", "/shared/public.txt", "");
    assert_eq!(public.status, 200);
    assert_eq!(public.body, b"hello world");
    for key in ["private.txt", "signed.txt"] {
        let refused = anonymous(&server, "GET", &format!("/shared/{key}"), "");
        assert_eq!(refused.status, 403, "{key}");
        assert_eq!(refused.code().as_deref(), Some("AccessDenied"));
        assert!(refused.body_text().contains("<Error>"));
    }
    assert_eq!(
        anonymous(&server, "GET", "/shared?list-type=2", "").status,
        200
    );
    assert_eq!(
        anonymous(&server, "PUT", "/shared/anon.txt", "anon").status,
        403
    );
    assert_eq!(anonymous(&server, "GET", "/", "").status, 403);
    assert_eq!(anonymous(&server, "PUT", "/anon-bucket", "").status, 403);

    admin
        .create_bucket()
        .bucket("private")
        .send()
        .await
        .unwrap();
    put(&admin, "private", "k", "v").await;
    assert_eq!(
        anonymous(&server, "GET", "/private?list-type=2", "").status,
        403
    );
    assert_eq!(anonymous(&server, "GET", "/private/k", "").status, 403);

    admin
        .create_bucket()
        .bucket("dropbox")
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    let written = anonymous(&server, "PUT", "/dropbox/anon.txt", "anonymous words");
    assert_eq!(written.status, 200, "{}", written.body_text());
    let acl = admin
        .get_object_acl()
        .bucket("dropbox")
        .key("anon.txt")
        .send()
        .await;
    // The bucket owner cannot read an anonymous writer's ACL (S3's ObjectWriter ownership).
    denied(acl, "acl of anonymous object").await;
    let bob_put = bob
        .put_object()
        .bucket("dropbox")
        .key("bob.txt")
        .body(ByteStream::from_static(b"bob"))
        .send()
        .await;
    assert!(bob_put.is_ok(), "{bob_put:?}");
    let acl = bob
        .get_object_acl()
        .bucket("dropbox")
        .key("bob.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(acl.owner().unwrap().display_name(), Some("bob"));
}

#[tokio::test]
async fn acl_documents_and_grant_headers() {
    // Goal: GetBucketAcl shows S3's default; PutBucketAcl with an XML body granting a user by id
    // or email lets that user in and shows their name; unknown ids and emails are refused with
    // S3's codes; x-amz-grant-* headers on PutObject are the object's exact ACL; canned and
    // header grants together are refused.
    let server = TestServer::start();
    let admin = server.client();
    let carol_user = server.add_user("carol", Some("carol@example.com"));
    let carol = server.client_as(&carol_user);
    admin.create_bucket().bucket("team").send().await.unwrap();

    let acl = admin.get_bucket_acl().bucket("team").send().await.unwrap();
    let owner = acl.owner().unwrap().clone();
    assert_eq!(acl.grants().len(), 1);
    assert_eq!(acl.grants()[0].permission(), Some(&Permission::FullControl));
    assert_eq!(acl.grants()[0].grantee().unwrap().id(), owner.id());

    let user_grant = |id: &str, permission: Permission| {
        Grant::builder()
            .grantee(
                Grantee::builder()
                    .r#type(Type::CanonicalUser)
                    .id(id)
                    .build()
                    .unwrap(),
            )
            .permission(permission)
            .build()
    };
    let policy = |grants: Vec<Grant>, owner: &Owner| {
        AccessControlPolicy::builder()
            .set_grants(Some(grants))
            .owner(owner.clone())
            .build()
    };
    denied(
        carol
            .put_object()
            .bucket("team")
            .key("c")
            .body(ByteStream::from_static(b"c"))
            .send()
            .await,
        "before grant",
    )
    .await;
    admin
        .put_bucket_acl()
        .bucket("team")
        .access_control_policy(policy(
            vec![
                user_grant(owner.id().unwrap(), Permission::FullControl),
                user_grant(&carol_user.canonical_id, Permission::Write),
            ],
            &owner,
        ))
        .send()
        .await
        .unwrap();
    put(&carol, "team", "c", "carol was here").await;
    denied(
        carol.list_objects_v2().bucket("team").send().await,
        "list with WRITE only",
    )
    .await;
    let acl = admin.get_bucket_acl().bucket("team").send().await.unwrap();
    let carol_grant = acl
        .grants()
        .iter()
        .find(|grant| grant.grantee().unwrap().id() == Some(carol_user.canonical_id.as_str()))
        .expect("carol's grant");
    assert_eq!(carol_grant.permission(), Some(&Permission::Write));
    assert_eq!(carol_grant.grantee().unwrap().display_name(), Some("carol"));

    let unknown = admin
        .put_bucket_acl()
        .bucket("team")
        .access_control_policy(policy(vec![user_grant("nobody", Permission::Read)], &owner))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&unknown).as_deref(), Some("InvalidArgument"));
    let by_email = |email: &str| {
        Grant::builder()
            .grantee(
                Grantee::builder()
                    .r#type(Type::AmazonCustomerByEmail)
                    .email_address(email)
                    .build()
                    .unwrap(),
            )
            .permission(Permission::Read)
            .build()
    };
    let unknown = admin
        .put_bucket_acl()
        .bucket("team")
        .access_control_policy(policy(vec![by_email("who@example.com")], &owner))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&unknown).as_deref(),
        Some("UnresolvableGrantByEmailAddress")
    );
    admin
        .put_bucket_acl()
        .bucket("team")
        .access_control_policy(policy(
            vec![
                user_grant(owner.id().unwrap(), Permission::FullControl),
                by_email("carol@example.com"),
            ],
            &owner,
        ))
        .send()
        .await
        .unwrap();
    let listed = carol.list_objects_v2().bucket("team").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
    let acl = admin.get_bucket_acl().bucket("team").send().await.unwrap();
    assert!(acl.grants().iter().any(|grant| {
        grant.grantee().unwrap().id() == Some(carol_user.canonical_id.as_str())
            && grant.permission() == Some(&Permission::Read)
    }));

    admin
        .put_object()
        .bucket("team")
        .key("granted")
        .grant_read(format!("id={}", carol_user.canonical_id))
        .grant_read_acp(format!("uri=\"{ALL_USERS}\""))
        .body(ByteStream::from_static(b"g"))
        .send()
        .await
        .unwrap();
    let acl = carol
        .get_object_acl()
        .bucket("team")
        .key("granted")
        .send()
        .await
        .unwrap();
    assert_eq!(acl.grants().len(), 2, "{acl:?}");
    carol
        .get_object()
        .bucket("team")
        .key("granted")
        .send()
        .await
        .unwrap();
    let both = admin
        .put_object()
        .bucket("team")
        .key("both")
        .acl(ObjectCannedAcl::PublicRead)
        .grant_read(format!("id={}", carol_user.canonical_id))
        .body(ByteStream::from_static(b"b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_status(&both), Some(400));
    // Revoking everything: the owner keeps READ_ACP/WRITE_ACP, so it can restore access.
    admin
        .put_bucket_acl()
        .bucket("team")
        .access_control_policy(policy(Vec::new(), &owner))
        .send()
        .await
        .unwrap();
    denied(
        admin.list_objects_v2().bucket("team").send().await,
        "owner after revoke",
    )
    .await;
    assert!(admin
        .get_bucket_acl()
        .bucket("team")
        .send()
        .await
        .unwrap()
        .grants()
        .is_empty());
    admin
        .put_bucket_acl()
        .bucket("team")
        .acl(BucketCannedAcl::Private)
        .send()
        .await
        .unwrap();
    admin.list_objects_v2().bucket("team").send().await.unwrap();
    denied(
        carol.list_objects_v2().bucket("team").send().await,
        "carol after private",
    )
    .await;
}

#[tokio::test]
async fn removed_user_is_refused_and_cli_reports_errors() {
    // Goal: `ringstore user list` shows users without secrets; `user remove` takes effect on the
    // running server within the cache lifetime; CLI mistakes exit 2 with one line.
    let server = TestServer::start();
    let dave_user = server.add_user("dave", None);
    let dave = server.client_as(&dave_user);
    dave.list_buckets().send().await.unwrap();
    let listing = server.user_command(&["list"]);
    let text = String::from_utf8(listing.stdout).unwrap();
    assert!(text.contains(&dave_user.access_key) && text.contains("dave"));
    assert!(
        !text.contains(&dave_user.secret_key),
        "list must not show secrets"
    );

    let removed = server.user_command(&["remove", &dave_user.access_key]);
    assert!(removed.status.success(), "{removed:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let last = loop {
        let last = dave
            .list_buckets()
            .send()
            .await
            .err()
            .as_ref()
            .and_then(error_code);
        if last.as_deref() == Some("InvalidAccessKeyId") || std::time::Instant::now() > deadline {
            break last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        last.as_deref(),
        Some("InvalidAccessKeyId"),
        "removed key still accepted"
    );

    let again = server.user_command(&["remove", &dave_user.access_key]);
    assert_eq!(again.status.code(), Some(2));
    let duplicate = server.user_command(&["add", "dave2"]);
    assert!(duplicate.status.success());
    let duplicate = server.user_command(&["add", "dave2"]);
    assert_eq!(duplicate.status.code(), Some(2));
    let bad = server.user_command(&["add", "bad name"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid name"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_commands_succeed_while_the_server_writes() {
    // Goal: `ringstore user` (another process) changes users while the server commits a stream
    // of writes: each command waits for the write lock instead of failing with "database is
    // locked" (its commands read before they write; a transaction that took its snapshot before
    // the server's last commit could not become a writer).
    let server = TestServer::start();
    let s3 = server.client();
    s3.create_bucket().bucket("busy").send().await.unwrap();
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (s3, writing) = (s3.clone(), writing.clone());
        writers.push(tokio::spawn(async move {
            let mut count = 0u32;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                s3.put_object()
                    .bucket("busy")
                    .key(format!("w{writer}-{count}"))
                    .body(b"x".to_vec().into())
                    .send()
                    .await
                    .unwrap();
                count += 1;
            }
            count
        }));
    }
    for index in 0..15 {
        let name = format!("busy-user-{index}");
        let added = server.user_command(&["add", &name]);
        assert!(added.status.success(), "user add {index}: {added:?}");
        let text = String::from_utf8(added.stdout).unwrap();
        let key = text
            .lines()
            .find_map(|line| line.strip_prefix("access_key:"))
            .unwrap()
            .trim()
            .to_string();
        for command in [&["disable", &key][..], &["rotate", &key], &["remove", &key]] {
            let output = server.user_command(command);
            assert!(output.status.success(), "user {command:?}: {output:?}");
        }
    }
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut written = 0;
    for writer in writers {
        written += writer.await.unwrap();
    }
    assert!(
        written > 0,
        "the server wrote nothing while the commands ran"
    );
}
