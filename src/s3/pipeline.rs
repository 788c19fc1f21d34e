//! One request through S3: resolve the target, route, authenticate, run the operation, and render
//! the answer — the only place an error becomes S3 XML and the per-request log event is written.

use std::time::Instant;

use super::access::Requester;
use super::auth::shared::VerifyInput;
use super::auth::verify::{claimed_access_key, is_anonymous};
use super::auth::{verify_request, AuthContext};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::gate;
use super::operation::{self, Operation};
use super::path::{self, Target};
use super::payload::PayloadReader;
use super::request::{Authorization, S3Request};
use super::router::{self, RouteInput};
use super::{cors, xml, S3Context};
use crate::http::{Method, RequestBody, RequestHead};
use crate::http::{Response, ResponseBody};
use crate::obs::access_log::AccessEvent;
use crate::obs::recent_errors::RecentError;

/// The operation name logged (and the metrics series) of a request refused before it was routed.
const UNROUTED: &str = "Other";

/// Handles one S3 request and returns the response to write.
pub async fn handle(
    context: &S3Context,
    head: &RequestHead,
    body: &mut RequestBody<'_>,
) -> Response {
    let started = Instant::now();
    let request_id = context.next_request_id();
    context.core_metrics().request_in_flight(true);
    // `None` until routed: a request refused before routing (bad host, bad query) is "Other".
    let mut operation: Option<Operation> = None;
    let mut access_key = String::new();
    let result = run(
        context,
        head,
        body,
        &request_id,
        &mut operation,
        &mut access_key,
    )
    .await;
    let mut error_code = None;
    let mut response = match result {
        Ok(response) => response,
        Err(error) => {
            error_code = Some(error.code.as_str());
            error_response(&error, head, &request_id)
        }
    };
    if operation != Some(Operation::OptionsPreflight) {
        add_cors_headers(context, head, &mut response).await;
    }
    response.head.header("x-amz-request-id", &request_id);
    response.head.header("x-amz-id-2", &request_id);
    let status = response.head.status;
    let elapsed = started.elapsed();
    let seconds = elapsed.as_secs_f64();
    let metrics = context.core_metrics();
    metrics.request_in_flight(false);
    metrics.record_request(
        operation.map(Operation::index),
        status,
        seconds,
        body.bytes_read(),
        response.body.content_length(),
    );
    if let Some(code) = error_code {
        metrics.recent_errors.record(RecentError {
            time_ms: super::time::now_ms(),
            request_id: request_id.clone(),
            core: context.core_index,
            operation: operation.map_or(UNROUTED, Operation::name),
            status,
            code,
            method: head.method.as_str(),
            path: head.path().to_string(),
            access_key: access_key.clone(),
        });
    }
    if status >= 500 && status != 501 {
        tracing::warn!(request_id = %request_id, status, s3_op = operation.map_or(UNROUTED, Operation::name), "request failed on the server side");
    }
    crate::obs::access_log::record(&AccessEvent {
        request_id: &request_id,
        core: context.core_index,
        s3_op: operation.map_or(UNROUTED, Operation::name),
        method: head.method.as_str(),
        path: head.path(),
        status,
        duration: elapsed,
        bytes_in: body.bytes_read(),
        bytes_out: response.body.content_length(),
        access_key: &access_key,
    });
    response
}

/// An actual cross-origin request (one with `Origin`) gets the `Access-Control-*` headers of the
/// first of its bucket's CORS rules that allows its origin and method — on errors too, as S3
/// does, so a browser script can read why it failed. Requests without `Origin` cost nothing here.
async fn add_cors_headers(context: &S3Context, head: &RequestHead, response: &mut Response) {
    let Some(origin) = head.header("origin") else {
        return;
    };
    let Ok(target) = path::resolve(head.header("host"), head.path(), &context.config.domains)
    else {
        return;
    };
    let Some(name) = target.bucket.as_deref() else {
        return;
    };
    // A lookup that fails leaves the answer as it is: the request itself already succeeded or
    // failed on its own terms.
    let Ok(Some(bucket)) = context.bucket(name).await else {
        return;
    };
    let Some(configuration) = &bucket.cors else {
        return;
    };
    // S3 matches an actual request by `Access-Control-Request-Method` when one is sent (ceph's
    // s3-tests and S3's recorded answers agree), else by its own method; its headers are not
    // checked.
    let request = cors::CorsRequest {
        origin,
        method: head
            .header("access-control-request-method")
            .unwrap_or(head.method.as_str()),
        requested_headers: None,
    };
    if let Some((rule, any_origin)) = cors::matching_rule(configuration, &request) {
        for (name, value) in cors::response_headers(rule, any_origin, &request) {
            response.head.header(name, value);
        }
    }
}

fn error_response(error: &S3Error, head: &RequestHead, request_id: &str) -> Response {
    let mut response = Response::empty(error.status());
    for (name, value) in &error.headers {
        response.head.header(*name, value);
    }
    if head.method == Method::Head {
        // HEAD answers carry no body, so S3 puts nothing but the status on the wire.
        return response;
    }
    response.head.header("Content-Type", "application/xml");
    response.body = ResponseBody::Bytes(xml::error_document(error, head.path(), request_id));
    response
}

/// Verifies the signature (fetching the user of `claimed`, the key the request names, first) or
/// recognises an anonymous request.
pub(crate) async fn authenticate(
    context: &S3Context,
    head: &RequestHead,
    target: &Target,
    query: &crate::s3::path::QueryPairs,
    claimed: Option<&str>,
) -> S3Result<(AuthContext, Requester)> {
    if is_anonymous(head, query) {
        return Ok((AuthContext::anonymous(), Requester::Anonymous));
    }
    let user = match claimed {
        Some(access_key) => context.signing_user(access_key).await?,
        None => None,
    };
    let lookup = |key: &str| {
        user.as_ref()
            .filter(|user| user.identity.access_key == key)
            .map(|user| user.secret.clone())
    };
    let input = VerifyInput {
        head,
        decoded_path: &target.decoded_path,
        query,
        virtual_host_bucket: target.bucket.as_deref().filter(|_| target.virtual_hosted),
        bucket_only: target.bucket.is_some() && target.key.is_none(),
        region: &context.config.region,
        region_any: context.config.region_any,
        now_seconds: super::time::now_ms() / 1000,
    };
    let auth = verify_request(&input, lookup, &mut context.key_cache.borrow_mut())?;
    // verify_request only succeeds with the secret `lookup` returned, so `user` is present.
    let identity = user
        .map(|user| user.identity.clone())
        .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidAccessKeyId))?;
    Ok((auth, Requester::User(identity)))
}

async fn run(
    context: &S3Context,
    head: &RequestHead,
    body: &mut RequestBody<'_>,
    request_id: &str,
    operation: &mut Option<Operation>,
    access_key: &mut String,
) -> S3Result<Response> {
    let target = path::resolve(head.header("host"), head.path(), &context.config.domains)?;
    let query = path::parse_query(head.query())?;
    let query_names: Vec<&str> = query.iter().map(|(name, _)| name).collect();
    let routed = router::route(RouteInput {
        method: head.method,
        has_bucket: target.bucket.is_some(),
        has_key: target.key.is_some(),
        query_names: &query_names,
        has_copy_source: head.header("x-amz-copy-source").is_some(),
    });
    *operation = Some(routed);
    // Logged even when verification fails: the key the request claims (not yet verified).
    let claimed = claimed_access_key(head, &query);
    if let Some(claimed) = claimed {
        access_key.clear();
        access_key.push_str(claimed);
    }
    // Preflights are never signed: S3 answers them from the bucket's CORS rules alone.
    let (auth, requester) = if routed == Operation::OptionsPreflight {
        (AuthContext::anonymous(), Requester::Anonymous)
    } else {
        authenticate(context, head, &target, &query, claimed).await?
    };
    access_key.clone_from(&auth.access_key);
    if let Some(bucket) = &target.bucket {
        if !matches!(routed, Operation::ListBuckets | Operation::OptionsPreflight) {
            path::validate_bucket_name(bucket)?;
        }
    }
    // Before anything is read or stored: a request asking for what ringstore does not do is
    // refused, never silently served without it.
    super::unsupported::check_headers(routed.name(), head)?;
    let mut request = S3Request {
        head,
        target,
        query,
        requester,
        request_id,
        authorization: Authorization::default(),
        conditions: None,
    };
    // An explicit Deny of the bucket's policy refuses here, before anything is read or stored.
    (request.authorization, request.conditions) =
        gate::authorize(context, &request, routed).await?;
    // A preflight has no payload to frame: its CORS answer comes before any header check.
    let decoded_length = match head.header("x-amz-decoded-content-length") {
        Some(_) if routed == Operation::OptionsPreflight => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "x-amz-decoded-content-length is not a number",
            )
        })?),
        None => None,
    };
    let payload = PayloadReader::new(
        body,
        auth.payload.clone(),
        auth.chunk_signing.clone(),
        decoded_length,
    );
    operation::dispatch(routed, context, &request, payload).await
}
