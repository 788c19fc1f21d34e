//! S3 operation handlers, one file per family; each file is a leaf (it uses the shared request
//! helpers of `s3`, never another handler file).

pub mod acl;
pub mod batch;
pub mod bucket;
pub mod copy;
pub mod cors;
pub mod list;
pub mod multipart;
pub mod object;
pub mod post;

use crate::http::Response;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::payload::PayloadReader;
use crate::s3::request::S3Request;
use crate::s3::S3Context;

/// A method S3 does not accept on the addressed resource.
pub async fn method_not_allowed(
    _context: &S3Context,
    _request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    Err(S3Error::new(S3ErrorCode::MethodNotAllowed))
}
