//! The settings bodies S3 requests carry, parsed with S3's errors: CreateBucket's location,
//! versioning, Object Lock (bucket configuration, retention, legal hold), tag sets, CORS rules,
//! default encryption and PublicAccessBlock. Each reads the bounded tree `parse_tree` builds.

use super::{parse_tree, XmlNode};
use crate::meta::object_lock::{DEFAULT_RETENTION_DAYS_MAX, DEFAULT_RETENTION_YEARS_MAX};
use crate::meta::{BucketObjectLock, ObjectLockMode, Retention, RetentionPeriod};
use crate::meta::{CorsConfiguration, CorsRule, PublicAccessBlock};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::tagging::{validate, TagSet};
use crate::s3::time::parse_iso8601_ms;

/// Reads `<CreateBucketConfiguration><LocationConstraint>` from a CreateBucket body; an empty
/// body means no constraint.
pub fn parse_create_bucket_configuration(body: &[u8]) -> S3Result<Option<String>> {
    if body.iter().all(|byte| byte.is_ascii_whitespace()) {
        return Ok(None);
    }
    let root = parse_tree(body)?;
    if root.name != "CreateBucketConfiguration" {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    }
    Ok(root
        .child("LocationConstraint")
        .map(|node| node.text.trim().to_string())
        .filter(|value| !value.is_empty()))
}

/// A PutBucketVersioning body: `<VersioningConfiguration>` with `Status` (`Enabled` or
/// `Suspended`) and optionally `MfaDelete` (`Enabled` or `Disabled`), as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersioningRequest {
    /// `Status`, as sent.
    pub status: Option<String>,
    /// `MfaDelete`, as sent.
    pub mfa_delete: Option<String>,
}

/// Reads a PutBucketVersioning body (S3 API Reference, PutBucketVersioning "Request Syntax").
pub fn parse_versioning_configuration(body: &[u8]) -> S3Result<VersioningRequest> {
    let root = parse_tree(body)?;
    if root.name != "VersioningConfiguration" {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    }
    let text = |name: &str| root.child(name).map(|node| node.text.trim().to_string());
    Ok(VersioningRequest {
        status: text("Status"),
        mfa_delete: text("MfaDelete"),
    })
}

/// Reads a PutObjectLockConfiguration body (S3 API Reference, PutObjectLockConfiguration):
/// `ObjectLockEnabled` must be `Enabled`; a `DefaultRetention` has a mode and exactly one of
/// `Days` or `Years` (MalformedXML otherwise), each a positive number within ringstore's bounds
/// (InvalidRetentionPeriod).
pub fn parse_object_lock_configuration(body: &[u8]) -> S3Result<BucketObjectLock> {
    let root = parse_tree(body)?;
    let malformed = || S3Error::new(S3ErrorCode::MalformedXML);
    if root.name != "ObjectLockConfiguration" {
        return Err(malformed());
    }
    let enabled = root.child("ObjectLockEnabled").map(|node| node.text.trim());
    if enabled != Some("Enabled") {
        return Err(malformed());
    }
    let Some(rule) = root.child("Rule") else {
        return Ok(BucketObjectLock::default());
    };
    let retention = rule.child("DefaultRetention").ok_or_else(malformed)?;
    let mode = retention
        .child("Mode")
        .and_then(|node| ObjectLockMode::parse(node.text.trim()))
        .ok_or_else(malformed)?;
    let count = |node: &XmlNode, max: u32| -> S3Result<u32> {
        match node.text.trim().parse::<i64>() {
            Ok(count) if count > 0 && count <= i64::from(max) => Ok(count as u32),
            Ok(_) => Err(S3Error::new(S3ErrorCode::InvalidRetentionPeriod)),
            Err(_) => Err(malformed()),
        }
    };
    let period = match (retention.child("Days"), retention.child("Years")) {
        (Some(days), None) => RetentionPeriod::Days(count(days, DEFAULT_RETENTION_DAYS_MAX)?),
        (None, Some(years)) => RetentionPeriod::Years(count(years, DEFAULT_RETENTION_YEARS_MAX)?),
        _ => return Err(malformed()),
    };
    Ok(BucketObjectLock {
        default_retention: Some((mode, period)),
    })
}

/// Reads a PutObjectRetention body: `Mode` and `RetainUntilDate` (ISO 8601), both or neither
/// (an empty `<Retention/>` removes the retention); MalformedXML otherwise.
pub fn parse_retention(body: &[u8]) -> S3Result<Option<Retention>> {
    let root = parse_tree(body)?;
    let malformed = || S3Error::new(S3ErrorCode::MalformedXML);
    if root.name != "Retention" {
        return Err(malformed());
    }
    match (root.child("Mode"), root.child("RetainUntilDate")) {
        (None, None) => Ok(None),
        (Some(mode), Some(until)) => Ok(Some(Retention {
            mode: ObjectLockMode::parse(mode.text.trim()).ok_or_else(malformed)?,
            retain_until_ms: parse_iso8601_ms(&until.text).ok_or_else(malformed)?,
        })),
        _ => Err(malformed()),
    }
}

/// Reads a PutObjectLegalHold body: `Status` ON or OFF (MalformedXML otherwise).
pub fn parse_legal_hold(body: &[u8]) -> S3Result<bool> {
    let root = parse_tree(body)?;
    if root.name != "LegalHold" {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    }
    match root.child("Status").map(|node| node.text.trim()) {
        Some("ON") => Ok(true),
        Some("OFF") => Ok(false),
        _ => Err(S3Error::new(S3ErrorCode::MalformedXML)),
    }
}

/// Reads a `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>` document (Put*Tagging,
/// POST's `tagging` field) into a tag set, validated against `count_max` (InvalidTag) —
/// MalformedXML for any other shape.
pub fn parse_tagging(body: &[u8], count_max: usize) -> S3Result<TagSet> {
    let root = parse_tree(body)?;
    let malformed = || S3Error::new(S3ErrorCode::MalformedXML);
    if root.name != "Tagging" {
        return Err(malformed());
    }
    let set = root.child("TagSet").ok_or_else(malformed)?;
    let mut tags = TagSet::new();
    for tag in &set.children {
        // Exactly one Key and one Value, nothing else (both are required in S3's schema).
        let names: Vec<&str> = tag
            .children
            .iter()
            .map(|child| child.name.as_str())
            .collect();
        if tag.name != "Tag" || !(names == ["Key", "Value"] || names == ["Value", "Key"]) {
            return Err(malformed());
        }
        let text = |name: &str| tag.child(name).map(|node| node.text.clone());
        tags.push((
            text("Key").ok_or_else(malformed)?,
            text("Value").ok_or_else(malformed)?,
        ));
    }
    validate(&tags, count_max)?;
    Ok(tags)
}

/// Reads a `<CORSConfiguration>` of `<CORSRule>`s (PutBucketCors) in the order sent; any other
/// element, a repeated `ID` or `MaxAgeSeconds`, or a non-integer age is MalformedXML. The
/// rules' contents are checked by `cors::validate`.
pub fn parse_cors_configuration(body: &[u8]) -> S3Result<CorsConfiguration> {
    let root = parse_tree(body)?;
    let malformed = || S3Error::new(S3ErrorCode::MalformedXML);
    if root.name != "CORSConfiguration" {
        return Err(malformed());
    }
    let mut configuration = CorsConfiguration::default();
    for node in &root.children {
        if node.name != "CORSRule" {
            return Err(malformed());
        }
        let mut rule = CorsRule::default();
        for member in &node.children {
            let text = member.text.trim().to_string();
            match member.name.as_str() {
                "ID" if rule.id.is_none() => rule.id = Some(text),
                "AllowedMethod" => rule.allowed_methods.push(text),
                "AllowedOrigin" => rule.allowed_origins.push(text),
                "AllowedHeader" => rule.allowed_headers.push(text),
                "ExposeHeader" => rule.expose_headers.push(text),
                "MaxAgeSeconds" if rule.max_age_seconds.is_none() => {
                    rule.max_age_seconds =
                        Some(text.parse::<i32>().map_err(|_| malformed())?.into());
                }
                _ => return Err(malformed()),
            }
        }
        configuration.rules.push(rule);
    }
    Ok(configuration)
}

/// Reads a `<ServerSideEncryptionConfiguration>` (PutBucketEncryption): exactly one `Rule` with
/// `ApplyServerSideEncryptionByDefault` / `SSEAlgorithm` and an optional `BucketKeyEnabled`.
/// `AES256` is the default ringstore gives; `aws:kms` and `aws:kms:dsse` are 501 (SSE-KMS is not
/// offered), a `KMSMasterKeyID` with `AES256` 400 InvalidArgument (as S3 answers), anything else
/// MalformedXML.
pub fn parse_encryption_configuration(body: &[u8]) -> S3Result<crate::meta::BucketEncryption> {
    let root = parse_tree(body)?;
    let malformed = || S3Error::new(S3ErrorCode::MalformedXML);
    if root.name != "ServerSideEncryptionConfiguration" || root.children.len() != 1 {
        return Err(malformed());
    }
    let rule = root.child("Rule").ok_or_else(malformed)?;
    let mut algorithm = None;
    let mut key_id = false;
    let mut bucket_key_enabled = None;
    for member in &rule.children {
        match member.name.as_str() {
            "ApplyServerSideEncryptionByDefault" if algorithm.is_none() => {
                for setting in &member.children {
                    match setting.name.as_str() {
                        "SSEAlgorithm" if algorithm.is_none() => {
                            algorithm = Some(setting.text.trim().to_string())
                        }
                        "KMSMasterKeyID" if !key_id => key_id = true,
                        _ => return Err(malformed()),
                    }
                }
                if algorithm.is_none() {
                    return Err(malformed());
                }
            }
            "BucketKeyEnabled" if bucket_key_enabled.is_none() => {
                bucket_key_enabled = Some(match member.text.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(malformed()),
                });
            }
            _ => return Err(malformed()),
        }
    }
    match algorithm.as_deref() {
        Some("AES256") if key_id => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
        )
        .field("ArgumentName", "ApplyServerSideEncryptionByDefault")),
        Some("AES256") => Ok(crate::meta::BucketEncryption {
            bucket_key_enabled: bucket_key_enabled.unwrap_or(false),
        }),
        Some("aws:kms") | Some("aws:kms:dsse") => Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "Default encryption with KMS keys (SSE-KMS) is not implemented; use AES256 (SSE-S3).",
        )),
        _ => Err(malformed()),
    }
}

/// Reads a `<PublicAccessBlockConfiguration>` (PutPublicAccessBlock): each of the four flags
/// `true` or `false`, absent ones false; anything else MalformedXML.
pub fn parse_public_access_block(body: &[u8]) -> S3Result<PublicAccessBlock> {
    let root = parse_tree(body)?;
    let malformed = || S3Error::new(S3ErrorCode::MalformedXML);
    if root.name != "PublicAccessBlockConfiguration" {
        return Err(malformed());
    }
    let mut block = PublicAccessBlock::default();
    for node in &root.children {
        let value = match node.text.trim() {
            "true" => true,
            "false" => false,
            _ => return Err(malformed()),
        };
        match node.name.as_str() {
            "BlockPublicAcls" => block.block_public_acls = value,
            "IgnorePublicAcls" => block.ignore_public_acls = value,
            "BlockPublicPolicy" => block.block_public_policy = value,
            "RestrictPublicBuckets" => block.restrict_public_buckets = value,
            _ => return Err(malformed()),
        }
    }
    Ok(block)
}
