//! CORS: the `OPTIONS` preflight (no bucket has CORS rules yet, so every preflight is refused).

use crate::http::Response;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::payload::PayloadReader;
use crate::s3::request::S3Request;
use crate::s3::S3Context;

/// `OPTIONS` (a CORS preflight, unsigned): no bucket has CORS rules here, so S3 refuses it at once.
pub async fn options_preflight(
    _context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    Err(match request.head.header("origin") {
        None => S3Error::with_message(
            S3ErrorCode::BadRequest,
            "Insufficient information. Origin request header needed.",
        ),
        Some(_) => S3Error::with_message(
            S3ErrorCode::AccessForbidden,
            "CORSResponse: CORS is not enabled for this bucket.",
        ),
    })
}
