//! CORS: the `OPTIONS` preflight (no bucket has CORS rules yet, so every preflight is refused), a
//! typed unit (`S3Operation`) answered before authentication.

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{FromRequest, NoContent, S3Operation};
use crate::s3::payload::PayloadReader;
use crate::s3::request::{Call, S3Request};
use crate::s3::S3Context;

/// What a preflight names: whether it has an `Origin`.
pub struct PreflightInput {
    has_origin: bool,
}

impl FromRequest<'_> for PreflightInput {
    fn parse(request: &S3Request<'_>) -> S3Result<Self> {
        Ok(PreflightInput {
            has_origin: request.head.header("origin").is_some(),
        })
    }
}

/// `OPTIONS` (a CORS preflight, unsigned).
pub struct OptionsPreflight;

impl S3Operation for OptionsPreflight {
    type Input<'r> = PreflightInput;
    type Output = NoContent;

    async fn handle(
        _context: &S3Context,
        _call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        Err(if input.has_origin {
            S3Error::with_message(
                S3ErrorCode::AccessForbidden,
                "CORSResponse: CORS is not enabled for this bucket.",
            )
        } else {
            S3Error::with_message(
                S3ErrorCode::BadRequest,
                "Insufficient information. Origin request header needed.",
            )
        })
    }
}
