//! The request an operation receives: parsed, routed and authenticated by `pipeline`.

use super::access::Requester;
use super::path::Target;
use crate::http::RequestHead;

/// A parsed, authenticated request handed to an operation.
pub struct S3Request<'a> {
    /// The head as received.
    pub head: &'a RequestHead,
    /// Bucket and key.
    pub target: Target,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Who sent it.
    pub requester: Requester,
    /// Id of this request.
    pub request_id: &'a str,
}

impl S3Request<'_> {
    /// The bucket (the router guarantees one for bucket and object operations).
    pub fn bucket(&self) -> &str {
        self.target.bucket.as_deref().unwrap_or_default()
    }

    /// The first value of query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The key (the router guarantees one for object operations).
    pub fn key(&self) -> &str {
        self.target.key.as_deref().unwrap_or_default()
    }
}
