//! Browser-upload (POST object) policy documents: the base64 JSON a form carries, its expiration
//! and conditions, and the check of a form's fields against them (S3 User Guide, "Creating a
//! POST policy").

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::Value;

use super::error::{S3Error, S3ErrorCode, S3Result};
use crate::limits::POST_POLICY_BYTES_MAX;

/// One condition of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyCondition {
    /// `{"field": "value"}` or `["eq", "$field", "value"]`.
    Equals {
        /// Form field name, lower case, without `$`.
        field: String,
        /// Required value.
        value: String,
    },
    /// `["starts-with", "$field", "prefix"]`.
    StartsWith {
        /// Form field name, lower case, without `$`.
        field: String,
        /// Required prefix (empty: any value).
        prefix: String,
    },
    /// `["content-length-range", min, max]`.
    ContentLengthRange {
        /// Smallest file size allowed.
        min: u64,
        /// Largest file size allowed.
        max: u64,
    },
}

/// A decoded policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPolicy {
    /// When the policy stops being valid, seconds since the Unix epoch.
    pub expiration_seconds: i64,
    /// Its conditions, in order.
    pub conditions: Vec<PolicyCondition>,
}

fn invalid_policy(message: &str) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidPolicyDocument,
        format!("Invalid Policy: {message}"),
    )
}

fn policy_denied(message: String) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::AccessDenied,
        format!("Invalid according to Policy: {message}"),
    )
}

/// The field a `$name` operand names (field names compare case-insensitively).
fn field_operand(operand: &Value) -> S3Result<String> {
    let text = operand
        .as_str()
        .ok_or_else(|| invalid_policy("condition field must be a string"))?;
    let name = text
        .strip_prefix('$')
        .ok_or_else(|| invalid_policy("condition field must start with $"))?;
    Ok(name.to_ascii_lowercase())
}

fn string_operand(operand: &Value) -> S3Result<String> {
    operand
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| invalid_policy("condition value must be a string"))
}

fn length_operand(operand: Option<&Value>) -> S3Result<u64> {
    let value = operand.ok_or_else(|| invalid_policy("content-length-range needs two bounds"))?;
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
        .ok_or_else(|| invalid_policy("content-length-range bounds must be non-negative integers"))
}

fn parse_condition(condition: &Value) -> S3Result<PolicyCondition> {
    match condition {
        Value::Object(map) => {
            let mut entries = map.iter();
            let (Some((field, value)), None) = (entries.next(), entries.next()) else {
                return Err(invalid_policy(
                    "a condition object must have exactly one entry",
                ));
            };
            Ok(PolicyCondition::Equals {
                field: field.trim_start_matches('$').to_ascii_lowercase(),
                value: string_operand(value)?,
            })
        }
        Value::Array(items) => {
            let operator = items
                .first()
                .and_then(Value::as_str)
                .ok_or_else(|| invalid_policy("a condition array must start with its operator"))?
                .to_ascii_lowercase();
            match operator.as_str() {
                "content-length-range" => {
                    let min = length_operand(items.get(1))?;
                    let max = length_operand(items.get(2))?;
                    if items.len() != 3 || min > max {
                        return Err(invalid_policy("invalid content-length-range"));
                    }
                    Ok(PolicyCondition::ContentLengthRange { min, max })
                }
                "eq" | "starts-with" if items.len() == 3 => {
                    let field = field_operand(&items[1])?;
                    let value = string_operand(&items[2])?;
                    Ok(if operator == "eq" {
                        PolicyCondition::Equals { field, value }
                    } else {
                        PolicyCondition::StartsWith {
                            field,
                            prefix: value,
                        }
                    })
                }
                _ => Err(invalid_policy("unknown condition operator")),
            }
        }
        _ => Err(invalid_policy("a condition must be an object or an array")),
    }
}

/// Parses `2026-11-29T12:00:00Z` or `2026-11-29T12:00:00.000Z`.
fn parse_expiration(text: &str) -> Option<i64> {
    let time =
        ::time::OffsetDateTime::parse(text, &::time::format_description::well_known::Rfc3339)
            .ok()?;
    text.ends_with('Z').then(|| time.unix_timestamp())
}

/// Decodes the form's `policy` field (base64 JSON). Keys `expiration` and `conditions` are case
/// sensitive, as S3 treats them.
pub fn decode_policy(encoded: &str) -> S3Result<PostPolicy> {
    if encoded.len() > POST_POLICY_BYTES_MAX {
        return Err(invalid_policy("the policy is too large"));
    }
    let bytes = BASE64
        .decode(encoded.trim())
        .map_err(|_| invalid_policy("the policy is not base64"))?;
    let document: Value =
        serde_json::from_slice(&bytes).map_err(|_| invalid_policy("the policy is not JSON"))?;
    let expiration = document
        .get("expiration")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_policy("Policy missing expiration."))?;
    let expiration_seconds = parse_expiration(expiration)
        .ok_or_else(|| invalid_policy("Invalid Policy: Invalid 'expiration' value."))?;
    let conditions = document
        .get("conditions")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_policy("Policy missing conditions."))?
        .iter()
        .map(parse_condition)
        .collect::<S3Result<Vec<_>>>()?;
    Ok(PostPolicy {
        expiration_seconds,
        conditions,
    })
}

/// Fields a policy need not mention (S3: the signature fields, `file`, `policy`, `x-ignore-*`;
/// checksums only confirm the bytes).
fn exempt(field: &str) -> bool {
    matches!(
        field,
        "awsaccesskeyid"
            | "signature"
            | "policy"
            | "file"
            | "x-amz-signature"
            | "x-amz-algorithm"
            | "x-amz-credential"
            | "x-amz-date"
            | "x-amz-security-token"
    ) || field.starts_with("x-ignore-")
        || field.starts_with("x-amz-checksum-")
}

impl PostPolicy {
    /// Checks the form's fields (lower-case names) against the policy at `now_seconds`: expired,
    /// a failed condition or a field no condition mentions is AccessDenied.
    pub fn check_fields(&self, fields: &[(String, String)], now_seconds: i64) -> S3Result<()> {
        if now_seconds >= self.expiration_seconds {
            return Err(policy_denied("Policy expired.".to_string()));
        }
        let value_of = |name: &str| {
            fields
                .iter()
                .find(|(field, _)| field == name)
                .map(|(_, value)| value.as_str())
                .unwrap_or_default()
        };
        for condition in &self.conditions {
            let holds = match condition {
                PolicyCondition::Equals { field, value } => value_of(field) == value,
                PolicyCondition::StartsWith { field, prefix } => {
                    value_of(field).starts_with(prefix.as_str())
                }
                PolicyCondition::ContentLengthRange { .. } => true,
            };
            if !holds {
                return Err(policy_denied(format!(
                    "Policy Condition failed: {condition:?}"
                )));
            }
        }
        for (field, _) in fields {
            let mentioned = self.conditions.iter().any(|condition| match condition {
                PolicyCondition::Equals { field: named, .. }
                | PolicyCondition::StartsWith { field: named, .. } => named == field,
                PolicyCondition::ContentLengthRange { .. } => false,
            });
            if !mentioned && !exempt(field) {
                return Err(policy_denied(format!("Extra input fields: {field}")));
            }
        }
        Ok(())
    }

    /// The `content-length-range` bounds, if the policy sets them.
    pub fn length_range(&self) -> Option<(u64, u64)> {
        self.conditions
            .iter()
            .find_map(|condition| match condition {
                PolicyCondition::ContentLengthRange { min, max } => Some((*min, *max)),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        BASE64.encode(json)
    }

    // Goal: policies decode as S3 documents them; malformed ones are InvalidPolicyDocument.
    #[test]
    fn decodes_and_refuses_malformed_policies() {
        let policy = decode_policy(&encode(
            r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bUcKeT":"b"},["StArTs-WiTh","$KeY","foo"],["content-length-range",0,1024],["eq","$x-amz-meta-a",""]]}"#,
        ))
        .unwrap();
        assert_eq!(policy.conditions.len(), 4);
        assert_eq!(policy.length_range(), Some((0, 1024)));
        assert_eq!(
            policy.conditions[1],
            PolicyCondition::StartsWith {
                field: "key".into(),
                prefix: "foo".into()
            }
        );
        for bad in [
            r#"{"conditions":[]}"#,
            r#"{"EXPIRATION":"2030-01-01T00:00:00Z","conditions":[]}"#,
            r#"{"expiration":"2030-01-01 00:00:00+00:00","conditions":[]}"#,
            r#"{"expiration":"2030-01-01T00:00:00Z"}"#,
            r#"{"expiration":"2030-01-01T00:00:00Z","CONDITIONS":[]}"#,
            r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{}]}"#,
            r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",0]]}"#,
            r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",-1,0]]}"#,
        ] {
            let error = decode_policy(&encode(bad)).unwrap_err();
            assert_eq!(error.code, S3ErrorCode::InvalidPolicyDocument, "{bad}");
        }
    }

    // Goal: conditions, expiry and unmentioned fields are enforced; exempt fields pass.
    #[test]
    fn checks_fields() {
        let policy = decode_policy(&encode(
            r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key","foo"]]}"#,
        ))
        .unwrap();
        let fields = |key: &str, extra: &[(&str, &str)]| {
            let mut fields = vec![
                ("bucket".to_string(), "b".to_string()),
                ("key".to_string(), key.to_string()),
                ("policy".to_string(), "p".to_string()),
                ("x-ignore-me".to_string(), "x".to_string()),
            ];
            for (name, value) in extra {
                fields.push((name.to_string(), value.to_string()));
            }
            fields
        };
        assert!(policy.check_fields(&fields("foo.txt", &[]), 0).is_ok());
        assert!(policy.check_fields(&fields("bar.txt", &[]), 0).is_err());
        assert!(policy
            .check_fields(&fields("foo.txt", &[("acl", "public-read")]), 0)
            .is_err());
        let expired = policy.check_fields(&fields("foo.txt", &[]), 1_900_000_000);
        assert_eq!(expired.unwrap_err().code, S3ErrorCode::AccessDenied);
    }
}
