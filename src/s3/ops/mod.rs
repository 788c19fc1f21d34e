//! S3 operation handlers, one file per family; each file is a leaf (it uses the shared request
//! helpers of `s3`, never another handler file).

pub mod acl;
pub mod attributes;
pub mod batch;
pub mod bucket;
pub mod copy;
pub mod cors;
pub mod encryption;
pub mod lifecycle;
pub mod list;
pub mod multipart;
pub mod object;
pub mod object_lock;
pub mod object_read;
pub mod policy;
pub mod post;
pub mod tagging;
pub mod versioning;

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{NoContent, S3Operation};
use crate::s3::payload::PayloadReader;
use crate::s3::request::Call;
use crate::s3::S3Context;

/// A method S3 does not accept on the addressed resource (a routing outcome, not an AWS
/// operation).
pub struct MethodNotAllowed;

impl S3Operation for MethodNotAllowed {
    type Input<'r> = ();
    type Output = NoContent;

    async fn handle(
        _context: &S3Context,
        _call: Call<'_>,
        _input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<NoContent> {
        Err(S3Error::new(S3ErrorCode::MethodNotAllowed))
    }
}
