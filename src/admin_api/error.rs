//! The admin API's errors and the one place they become an answer: a status and a JSON body
//! `{"error": {"code", "message", "requestId"}}`. Codes are S3's where S3 has one (authentication,
//! buckets), else the admin API's own (documented in `openapi.json`).

use crate::meta::users::UserError;
use crate::meta::MetaError;
use crate::s3::error::{S3Error, S3ErrorCode};

/// Why an admin request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    /// HTTP status.
    pub status: u16,
    /// Stable code a script can match.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
}

impl AdminError {
    /// An error of the admin API's own.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        AdminError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `InvalidRequest`: a body or parameter that does not say what the API expects.
    pub fn invalid(message: impl Into<String>) -> Self {
        AdminError::new(400, "InvalidRequest", message)
    }

    /// 404 `NoSuchUser`.
    pub fn no_such_user(access_key: &str) -> Self {
        AdminError::new(
            404,
            "NoSuchUser",
            format!("no user has access key {access_key}"),
        )
    }

    /// The JSON body of this error.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "requestId": request_id,
            }
        })
    }
}

impl From<S3Error> for AdminError {
    fn from(error: S3Error) -> Self {
        AdminError {
            status: error.status(),
            code: error.code.as_str(),
            message: error.message.into_owned(),
        }
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
            UserError::Invalid { .. } => AdminError::invalid(error.to_string()),
            UserError::Exists => AdminError::new(409, "UserAlreadyExists", error.to_string()),
            UserError::NotFound(access_key) => AdminError::no_such_user(&access_key),
            UserError::Meta(error) => error.into(),
            UserError::Random(detail) => {
                tracing::error!(error = %detail, "random source failed");
                S3Error::new(S3ErrorCode::InternalError).into()
            }
        }
    }
}
