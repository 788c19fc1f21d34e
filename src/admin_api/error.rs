//! The admin API's errors, one typed enum, and the one place they become an answer: a status and
//! a JSON body `{"error": {"code", "message", "requestId"}}`. Codes are S3's where S3 has one
//! (authentication, buckets), else the admin API's own — each documented in `openapi.json`.

use crate::limits::ADMIN_REQUEST_BYTES_MAX;
use crate::meta::users::UserError;
use crate::meta::MetaError;
use crate::s3::error::{S3Error, S3ErrorCode};

/// Why an admin request failed.
#[derive(Debug)]
pub enum AdminError {
    /// 400: a body or parameter that does not say what the API expects.
    InvalidRequest(String),
    /// 404: no admin resource at this path.
    NotFound,
    /// 405: the resource exists, not with this method.
    MethodNotAllowed,
    /// 403: signed, but not by the bootstrap admin or a user with the admin role.
    NotAdmin,
    /// 403: not signed at all.
    Unsigned,
    /// 403: a change not signed with SigV4 in its headers over its body (UNSIGNED-PAYLOAD, a
    /// presigned URL, SigV2): it could be replayed with another body, or for days.
    SignedPayloadRequired,
    /// 413: a body over `ADMIN_REQUEST_BYTES_MAX`.
    RequestTooLarge,
    /// 404: no user has this access key.
    NoSuchUser(String),
    /// 409: the display name or email is taken.
    UserAlreadyExists,
    /// 409: the user owns buckets.
    UserOwnsBuckets(String),
    /// 409: the bootstrap admin comes from the command line.
    BootstrapUser,
    /// 409: an admin taking their own role, or disabling or removing themselves.
    SelfLockout(&'static str),
    /// 404: no bucket has this name.
    NoSuchBucket(String),
    /// 409: a bucket has this name.
    BucketAlreadyExists(String),
    /// What S3 would answer (authentication, bucket rules, metadata failures).
    S3(S3Error),
}

impl AdminError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        use AdminError::*;
        match self {
            InvalidRequest(_) => 400,
            NotFound | NoSuchUser(_) | NoSuchBucket(_) => 404,
            MethodNotAllowed => 405,
            NotAdmin | Unsigned | SignedPayloadRequired => 403,
            RequestTooLarge => 413,
            UserAlreadyExists
            | UserOwnsBuckets(_)
            | BootstrapUser
            | SelfLockout(_)
            | BucketAlreadyExists(_) => 409,
            S3(error) => error.status(),
        }
    }

    /// The stable code a script matches.
    pub fn code(&self) -> &'static str {
        use AdminError::*;
        match self {
            InvalidRequest(_) => "InvalidRequest",
            NotFound => "NotFound",
            MethodNotAllowed => "MethodNotAllowed",
            NotAdmin | Unsigned => "AccessDenied",
            SignedPayloadRequired => "SignedPayloadRequired",
            RequestTooLarge => "RequestTooLarge",
            NoSuchUser(_) => "NoSuchUser",
            UserAlreadyExists => "UserAlreadyExists",
            UserOwnsBuckets(_) => "UserOwnsBuckets",
            BootstrapUser => "BootstrapUser",
            SelfLockout(_) => "SelfLockout",
            NoSuchBucket(_) => "NoSuchBucket",
            BucketAlreadyExists(_) => "BucketAlreadyExists",
            S3(error) => error.code.as_str(),
        }
    }

    /// What went wrong, for a person.
    pub fn message(&self) -> String {
        use AdminError::*;
        match self {
            InvalidRequest(message) => message.clone(),
            NotFound => "no such admin resource".into(),
            MethodNotAllowed => "this resource does not take this method".into(),
            NotAdmin => "the admin API needs a user with the admin role".into(),
            Unsigned => "the admin API takes only signed requests".into(),
            SignedPayloadRequired => {
                "a change must be signed with SigV4 in its headers, over the SHA-256 of its body \
                 (x-amz-content-sha256); UNSIGNED-PAYLOAD, presigned URLs and SigV2 are refused"
                    .into()
            }
            RequestTooLarge => {
                format!("admin request bodies are at most {ADMIN_REQUEST_BYTES_MAX} bytes")
            }
            NoSuchUser(access_key) => format!("no user has access key {access_key}"),
            UserAlreadyExists => "a user with this name or email already exists".into(),
            UserOwnsBuckets(access_key) => {
                format!("{access_key} owns buckets: delete them first, or disable the user instead")
            }
            BootstrapUser => "the bootstrap admin is set by --access-key / --secret-key and \
                 cannot be changed here"
                .into(),
            SelfLockout(what) => format!("an admin cannot {what}"),
            NoSuchBucket(name) => format!("no bucket is named {name}"),
            BucketAlreadyExists(name) => format!("a bucket named {name} exists"),
            S3(error) => error.message.to_string(),
        }
    }

    /// The JSON body of this error.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "code": self.code(),
                "message": self.message(),
                "requestId": request_id,
            }
        })
    }
}

impl From<S3Error> for AdminError {
    fn from(error: S3Error) -> Self {
        AdminError::S3(error)
    }
}

impl From<MetaError> for AdminError {
    fn from(error: MetaError) -> Self {
        S3Error::from(error).into()
    }
}

impl From<UserError> for AdminError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Invalid { .. } | UserError::TooMany => {
                AdminError::InvalidRequest(error.to_string())
            }
            UserError::Exists => AdminError::UserAlreadyExists,
            UserError::NotFound(access_key) => AdminError::NoSuchUser(access_key),
            UserError::OwnsBuckets(access_key) => AdminError::UserOwnsBuckets(access_key),
            UserError::Meta(error) => error.into(),
            UserError::Random(detail) => {
                tracing::error!(error = %detail, "random source failed");
                S3Error::new(S3ErrorCode::InternalError).into()
            }
        }
    }
}
