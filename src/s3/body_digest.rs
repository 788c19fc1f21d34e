//! The digest S3 requires on some small request bodies (DeleteObjects, the Object Lock
//! configuration, retention and legal hold): Content-MD5, or a flexible checksum in a header or
//! a trailer, checked against the body.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use md5::{Digest, Md5};

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::FromRequest;
use crate::s3::object_write::decode_checksum;
use crate::s3::request::S3Request;
use crate::storage::checksum::{checksum_of, CHECKSUM_ALGORITHMS};

/// The integrity headers S3 requires on these bodies: Content-MD5, or a flexible checksum
/// (which may also come as a trailer).
pub struct BodyIntegrity<'r> {
    content_md5: Option<&'r str>,
    /// Each algorithm's `x-amz-checksum-*` header, if sent, in `CHECKSUM_ALGORITHMS` order.
    checksums: [Option<&'r str>; CHECKSUM_ALGORITHMS.len()],
}

impl<'r> FromRequest<'r> for BodyIntegrity<'r> {
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self> {
        let head = request.head;
        Ok(BodyIntegrity {
            content_md5: head.header("content-md5"),
            checksums: CHECKSUM_ALGORITHMS.map(|algorithm| head.header(algorithm.header_name())),
        })
    }
}

impl BodyIntegrity<'_> {
    /// `verify` when the request carries a digest; nothing to check otherwise (bodies S3 takes
    /// with or without one, such as PutBucketPolicy's).
    pub fn verify_if_sent(&self, trailers: &[(String, String)], body: &[u8]) -> S3Result<()> {
        let sent = self.content_md5.is_some()
            || self.checksums.iter().any(Option::is_some)
            || CHECKSUM_ALGORITHMS.iter().any(|algorithm| {
                trailers
                    .iter()
                    .any(|(name, _)| name == algorithm.header_name())
            });
        if sent {
            self.verify(trailers, body)
        } else {
            Ok(())
        }
    }

    /// Checks `body` against every digest sent: Content-MD5 and the flexible checksum (a header,
    /// or the trailer of the same checksum in `trailers`); InvalidRequest when neither was sent.
    pub fn verify(&self, trailers: &[(String, String)], body: &[u8]) -> S3Result<()> {
        let mismatch = || S3Error::new(S3ErrorCode::BadDigest);
        let md5_sent = self.content_md5.is_some();
        if let Some(md5) = self.content_md5 {
            let expected = BASE64
                .decode(md5.trim())
                .map_err(|_| S3Error::new(S3ErrorCode::InvalidDigest))?;
            if expected.len() != 16 {
                return Err(S3Error::new(S3ErrorCode::InvalidDigest));
            }
            if expected.as_slice() != Md5::digest(body).as_slice() {
                return Err(mismatch());
            }
        }
        // The first algorithm (in `CHECKSUM_ALGORITHMS` order) sent as a header or a trailer.
        let checksum = CHECKSUM_ALGORITHMS
            .into_iter()
            .zip(self.checksums)
            .find_map(|(algorithm, header)| {
                let trailer = || {
                    trailers
                        .iter()
                        .find(|(name, _)| name == algorithm.header_name())
                        .map(|(_, value)| value.as_str())
                };
                header.or_else(trailer).map(|value| (algorithm, value))
            });
        match checksum {
            Some((algorithm, value)) => {
                if decode_checksum(algorithm, value)? != checksum_of(algorithm, body) {
                    return Err(mismatch());
                }
                Ok(())
            }
            None if md5_sent => Ok(()),
            None => Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Missing required header for this request: Content-MD5 or x-amz-checksum-*",
            )),
        }
    }
}
