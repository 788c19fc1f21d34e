//! A bucket's CORS configuration as stored (PutBucketCors): its rules, kept as JSON in
//! `buckets.cors`, decoded once when the bucket row is read (the cores cache the record), and the
//! command that replaces or removes them.

use rusqlite::Transaction;
use serde_json::{json, Value};

use super::bucket_column::update_bucket;
use super::command::{Changes, MetaCommand};
use super::MetaError;

/// One `<CORSRule>` (S3 API Reference, CORSRule), its lists in the order the client sent them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsRule {
    /// `ID`, if given.
    pub id: Option<String>,
    /// `AllowedMethod`s: GET, PUT, POST, DELETE, HEAD.
    pub allowed_methods: Vec<String>,
    /// `AllowedOrigin`s, each with at most one `*`.
    pub allowed_origins: Vec<String>,
    /// `AllowedHeader`s, each with at most one `*`, matched without regard to case.
    pub allowed_headers: Vec<String>,
    /// `ExposeHeader`s: response headers a browser script may read.
    pub expose_headers: Vec<String>,
    /// `MaxAgeSeconds`: how long a browser may cache a preflight's answer, in seconds.
    pub max_age_seconds: Option<i64>,
}

/// A bucket's CORS rules, first match wins (S3 User Guide, "Elements of a CORS configuration").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsConfiguration {
    /// The rules in order.
    pub rules: Vec<CorsRule>,
}

impl CorsConfiguration {
    /// The stored form: a JSON array of rule objects.
    pub fn encode(&self) -> String {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|rule| {
                json!({
                    "id": rule.id,
                    "methods": rule.allowed_methods,
                    "origins": rule.allowed_origins,
                    "headers": rule.allowed_headers,
                    "expose": rule.expose_headers,
                    "max_age": rule.max_age_seconds,
                })
            })
            .collect();
        Value::Array(rules).to_string()
    }

    /// `encode`'s text back; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let strings = |value: &Value| -> Option<Vec<String>> {
            value
                .as_array()?
                .iter()
                .map(|item| item.as_str().map(str::to_string))
                .collect()
        };
        let rules = serde_json::from_str::<Value>(text).ok()?;
        let rules = rules
            .as_array()?
            .iter()
            .map(|rule| {
                Some(CorsRule {
                    id: rule.get("id")?.as_str().map(str::to_string),
                    allowed_methods: strings(rule.get("methods")?)?,
                    allowed_origins: strings(rule.get("origins")?)?,
                    allowed_headers: strings(rule.get("headers")?)?,
                    expose_headers: strings(rule.get("expose")?)?,
                    max_age_seconds: rule.get("max_age")?.as_i64(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(CorsConfiguration { rules })
    }
}

/// Replaces (or with `None` removes) a bucket's CORS configuration.
#[derive(Debug)]
pub struct PutBucketCors {
    /// Bucket name.
    pub bucket: String,
    /// The new rules; `None` deletes the configuration.
    pub configuration: Option<CorsConfiguration>,
}

impl MetaCommand for PutBucketCors {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        let encoded = self.configuration.as_ref().map(CorsConfiguration::encode);
        update_bucket(transaction, "cors", &self.bucket, encoded.as_deref())
    }

    fn changes(&self) -> Changes<'_> {
        // The rules live in the bucket record the cores cache.
        Changes::Buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        // Goal: what PutBucketCors stored reads back the same, optional members included.
        let configuration = CorsConfiguration {
            rules: vec![
                CorsRule {
                    id: Some("a \"rule\"".into()),
                    allowed_methods: vec!["GET".into(), "PUT".into()],
                    allowed_origins: vec!["https://*.example.com".into(), String::new()],
                    allowed_headers: vec!["*".into()],
                    expose_headers: vec!["ETag".into()],
                    max_age_seconds: Some(3000),
                },
                CorsRule {
                    allowed_methods: vec!["HEAD".into()],
                    allowed_origins: vec!["*".into()],
                    ..CorsRule::default()
                },
            ],
        };
        assert_eq!(
            CorsConfiguration::decode(&configuration.encode()),
            Some(configuration)
        );
        assert_eq!(CorsConfiguration::decode("not json"), None);
    }
}
