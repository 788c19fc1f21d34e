//! The admin API: a versioned JSON API under `/_ringstore/admin/v1/` for users, buckets, quotas,
//! usage, server info and recent errors; and the web console built on it (`console`). Requests
//! are signed as S3 requests are (SigV4 or SigV2, header or presigned — a change only in its
//! headers, over its body), by a user with the admin role; `openapi.json` describes it all.
//!
//! `service` sends a request here when its path is under `RESERVED_PREFIX` and its `Host` names
//! no bucket (`router::ADMIN_API_PREFIX` says why no bucket can collide).

pub mod buckets;
pub mod console;
pub mod error;
pub mod json_body;
pub mod router;
pub mod server;
pub mod users;

use std::time::Instant;

use serde_json::Value;

use self::error::AdminError;
use self::router::{AdminOperation, RouteError, ADMIN_API_PREFIX};
use crate::http::{Method, RequestBody, RequestHead, Response, ResponseBody, ResponseHead};
use crate::limits::ADMIN_REQUEST_BYTES_MAX;
use crate::s3::access::Requester;
use crate::s3::auth::shared::PayloadMode;
use crate::s3::auth::verify::claimed_access_key;
use crate::s3::payload::{read_body_up_to, PayloadReader};
use crate::s3::{path, S3Context};

/// Paths under this prefix belong to ringstore itself (the admin API and the console).
pub const RESERVED_PREFIX: &str = "/_ringstore/";

/// The API's OpenAPI 3 description, served at `openapi.json` (checked against real answers by
/// `tests/python/test_admin_api.py`).
pub const OPENAPI_DOCUMENT: &str = include_str!("openapi.json");

/// Whether ringstore's own API should answer `head` rather than S3: a path under
/// `RESERVED_PREFIX` in a request whose `Host` names no bucket.
pub fn is_admin_request(head: &RequestHead, domains: &[String]) -> bool {
    head.path().starts_with(RESERVED_PREFIX)
        && path::resolve(head.header("host"), head.path(), domains)
            .is_ok_and(|target| !target.virtual_hosted)
}

/// A successful answer: a status and a JSON body (none for 204).
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Option<Value>,
}

impl Answer {
    /// 200 with `body`.
    pub fn ok(body: Value) -> Self {
        Answer {
            status: 200,
            body: Some(body),
        }
    }

    /// 201 with `body`.
    pub fn created(body: Value) -> Self {
        Answer {
            status: 201,
            body: Some(body),
        }
    }

    /// 204.
    pub fn no_content() -> Self {
        Answer {
            status: 204,
            body: None,
        }
    }
}

fn json_response(status: u16, body: Option<Vec<u8>>, content_type: &'static str) -> Response {
    let mut head = ResponseHead::new(status);
    head.header("Cache-Control", "no-store");
    head.header("X-Content-Type-Options", "nosniff");
    let body = match body {
        Some(bytes) => {
            head.header("Content-Type", content_type);
            ResponseBody::Bytes(bytes)
        }
        None => ResponseBody::Bytes(Vec::new()),
    };
    Response { head, body }
}

/// Answers one admin request, and writes its log event.
pub async fn handle(
    context: &S3Context,
    head: &RequestHead,
    body: &mut RequestBody<'_>,
) -> Response {
    if head
        .path()
        .starts_with(console::CONSOLE_PREFIX.trim_end_matches('/'))
    {
        return console::serve(head);
    }
    let started = Instant::now();
    let request_id = context.next_request_id();
    let mut operation_name = "AdminOther";
    let mut access_key = String::new();
    let result = run(context, head, body, &mut operation_name, &mut access_key).await;
    let mut response = match result {
        Ok(response) => response,
        Err(error) => {
            let body = serde_json::to_vec(&error.body(&request_id)).unwrap_or_default();
            json_response(error.status(), Some(body), "application/json")
        }
    };
    response.head.header("x-amz-request-id", &request_id);
    let status = response.head.status;
    if status >= 500 {
        tracing::warn!(request_id = %request_id, status, admin_op = operation_name, "admin request failed on the server side");
    }
    tracing::info!(
        request_id = %request_id,
        core = context.core_index,
        admin_op = operation_name,
        method = head.method.as_str(),
        path = %head.path(),
        status,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        access_key = %access_key,
        "admin request"
    );
    response
}

async fn run(
    context: &S3Context,
    head: &RequestHead,
    body: &mut RequestBody<'_>,
    operation_name: &mut &'static str,
    access_key: &mut String,
) -> Result<Response, AdminError> {
    let sub_path = head
        .path()
        .strip_prefix(ADMIN_API_PREFIX)
        .ok_or(AdminError::NotFound)?;
    let operation = router::route(head.method, sub_path).map_err(|error| match error {
        RouteError::NotFound => AdminError::NotFound,
        RouteError::MethodNotAllowed => AdminError::MethodNotAllowed,
    })?;
    *operation_name = operation.name();
    if operation == AdminOperation::GetOpenApi {
        return Ok(json_response(
            200,
            Some(OPENAPI_DOCUMENT.as_bytes().to_vec()),
            "application/json",
        ));
    }
    let target = path::resolve(head.header("host"), head.path(), &context.config.domains)?;
    let query = path::parse_query(head.query())?;
    let claimed = claimed_access_key(head, &query);
    if let Some(claimed) = claimed {
        access_key.clear();
        access_key.push_str(claimed);
    }
    let (auth, requester) =
        crate::s3::pipeline::authenticate(context, head, &target, &query, claimed).await?;
    let Requester::User(identity) = requester else {
        return Err(AdminError::Unsigned);
    };
    let is_admin = context
        .user(&identity.access_key)
        .await?
        .is_some_and(|user| user.admin);
    if !is_admin {
        return Err(AdminError::NotAdmin);
    }
    // A change is signed with SigV4 in its headers, over its body: UNSIGNED-PAYLOAD leaves the
    // body to whoever replays the request, and a presigned URL or a SigV2 signature (even one
    // covering a payload hash) can be replayed as is for days, or — SigV2's `Expires` has no cap
    // — for ever. A header signature holds for 15 minutes.
    let header_sigv4 = head
        .header("authorization")
        .is_some_and(|value| value.starts_with("AWS4-HMAC-SHA256 "))
        && !query.iter().any(|(name, _)| name == "X-Amz-Signature");
    let body_signed = matches!(
        auth.payload,
        PayloadMode::Sha256(_) | PayloadMode::StreamingSigned { .. }
    );
    if head.method != Method::Get && !(header_sigv4 && body_signed) {
        return Err(AdminError::SignedPayloadRequired);
    }
    let mut payload = PayloadReader::new(body, auth.payload.clone(), auth.chunk_signing, None);
    // The payload hash the signature covers is checked by the reader.
    let bytes = read_body_up_to(&mut payload, ADMIN_REQUEST_BYTES_MAX)
        .await?
        .ok_or(AdminError::RequestTooLarge)?;
    let requester = identity.access_key.as_str();
    use AdminOperation::*;
    let answer = match &operation {
        GetOpenApi => unreachable!("answered before authentication"),
        GetServerInfo => server::info(context),
        GetUsage => server::usage(context).await,
        ListRecentErrors => server::errors(context),
        ListUsers => users::list(context).await,
        CreateUser => users::create(context, &bytes).await,
        GetUser(key) => users::get(context, key).await,
        UpdateUser(key) => users::update(context, key, requester, &bytes).await,
        DeleteUser(key) => users::remove(context, key, requester).await,
        RotateUserSecret(key) => users::rotate(context, key).await,
        ListBuckets => buckets::list(context).await,
        CreateBucket => buckets::create(context, requester, &bytes).await,
        GetBucket(name) => buckets::get(context, name).await,
        DeleteBucket(name) => buckets::remove(context, name).await,
        PutBucketQuota(name) => buckets::put_quota(context, name, Some(&bytes)).await,
        DeleteBucketQuota(name) => buckets::put_quota(context, name, None).await,
    }?;
    let body = answer
        .body
        .map(|value| serde_json::to_vec(&value).unwrap_or_default());
    Ok(json_response(answer.status, body, "application/json"))
}
