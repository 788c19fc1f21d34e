//! Browser-form signatures (POST object): the SigV4 `x-amz-signature` over the base64 policy, or
//! the form-only V2 `signature` (HMAC-SHA1); pure functions, compared in constant time.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};

use super::sigv4;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::secret::constant_time_eq;

fn invalid_argument(message: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message.to_string())
}

/// The value of form field `name` (names lower-case).
pub fn field<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
    fields
        .iter()
        .find(|(field, _)| field == name)
        .map(|(_, value)| value.as_str())
}

/// How a form is signed: both sign the base64 policy text itself.
pub enum FormSignature {
    /// `x-amz-signature`: hex HMAC-SHA256 with the SigV4 signing key of the credential's day.
    V4 {
        /// The credential's access key.
        access_key: String,
        /// The credential's day (`YYYYMMDD`).
        date: String,
        /// The credential's region.
        region: String,
        /// Hex signature, lower-case.
        signature: String,
    },
    /// `AWSAccessKeyId` + `signature`: base64 HMAC-SHA1 with the secret (the form-only V2 scheme
    /// browsers and s3-tests still use; request SigV2 stays refused).
    V2 {
        /// `AWSAccessKeyId`.
        access_key: String,
        /// Base64 signature.
        signature: String,
    },
}

impl FormSignature {
    /// The signature fields of the form (names lower-case); `None` for an unsigned (anonymous)
    /// form. InvalidArgument for a V4 form without its algorithm or credential, or scoped to
    /// another region or service.
    pub fn from_fields(
        fields: &[(String, String)],
        region: &str,
        region_any: bool,
    ) -> S3Result<Option<Self>> {
        if let Some(signature) = field(fields, "x-amz-signature") {
            if field(fields, "x-amz-algorithm") != Some(sigv4::ALGORITHM) {
                return Err(invalid_argument(
                    "POST requires x-amz-algorithm AWS4-HMAC-SHA256",
                ));
            }
            let credential = field(fields, "x-amz-credential")
                .ok_or_else(|| invalid_argument("POST requires the x-amz-credential field"))?;
            let sigv4::Credential {
                access_key,
                date,
                region: credential_region,
                service,
                ..
            } = sigv4::parse_credential(credential)
                .ok_or_else(|| invalid_argument("Error parsing the X-Amz-Credential field"))?;
            let region_ok = if region_any {
                crate::config::is_well_formed_region(credential_region)
            } else {
                credential_region == region
            };
            if !region_ok || service != "s3" {
                return Err(invalid_argument(
                    "The credential scope is not this endpoint's",
                ));
            }
            return Ok(Some(FormSignature::V4 {
                access_key: access_key.to_string(),
                date: date.to_string(),
                region: credential_region.to_string(),
                signature: signature.trim().to_ascii_lowercase(),
            }));
        }
        if let Some(access_key) = field(fields, "awsaccesskeyid") {
            let signature = field(fields, "signature").ok_or_else(|| {
                invalid_argument("Bucket POST must contain a field named 'Signature'.")
            })?;
            return Ok(Some(FormSignature::V2 {
                access_key: access_key.to_string(),
                signature: signature.trim().to_string(),
            }));
        }
        Ok(None)
    }

    /// Who claims to have signed.
    pub fn access_key(&self) -> &str {
        match self {
            FormSignature::V4 { access_key, .. } | FormSignature::V2 { access_key, .. } => {
                access_key
            }
        }
    }

    /// Whether the signature over `policy` is right for `secret` (compared in constant time).
    pub fn verify(&self, secret: &str, policy: &str) -> bool {
        match self {
            FormSignature::V4 {
                date,
                region,
                signature,
                ..
            } => {
                let key = sigv4::derive_signing_key(secret, date, region, "s3");
                constant_time_eq(sigv4::sign(&key, policy).as_bytes(), signature.as_bytes())
            }
            FormSignature::V2 { signature, .. } => {
                let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) else {
                    return false;
                };
                mac.update(policy.as_bytes());
                let expected = BASE64.encode(mac.finalize().into_bytes());
                constant_time_eq(expected.as_bytes(), signature.as_bytes())
            }
        }
    }
}
