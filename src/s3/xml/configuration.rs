//! The small documents of per-version and per-bucket protections and settings: Object Lock
//! configuration, retention, legal hold, tag sets, CORS rules, policy status, PublicAccessBlock,
//! and Veeam SOSAPI's system and capacity files (`documents` holds the listing, ACL, multipart and error-adjacent ones).

use super::documents::XmlDocument;
use super::XmlBuilder;
use crate::meta::{
    BucketObjectLock, CorsConfiguration, PublicAccessBlock, Retention, RetentionPeriod,
};
use crate::s3::time;

/// GetBucketEncryption's answer: the one rule, SSE-S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionConfigurationDocument(pub crate::meta::BucketEncryption);

impl XmlDocument for EncryptionConfigurationDocument {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("ServerSideEncryptionConfiguration")
            .open("Rule")
            .open("ApplyServerSideEncryptionByDefault")
            .element("SSEAlgorithm", "AES256")
            .close("ApplyServerSideEncryptionByDefault")
            .element(
                "BucketKeyEnabled",
                if self.0.bucket_key_enabled {
                    "true"
                } else {
                    "false"
                },
            )
            .close("Rule")
            .close("ServerSideEncryptionConfiguration");
    }
}

/// GetObjectLockConfiguration's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLockConfigurationDocument(pub BucketObjectLock);

impl XmlDocument for ObjectLockConfigurationDocument {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("ObjectLockConfiguration")
            .element("ObjectLockEnabled", "Enabled");
        if let Some((mode, period)) = self.0.default_retention {
            xml.open("Rule")
                .open("DefaultRetention")
                .element("Mode", mode.as_str());
            match period {
                RetentionPeriod::Days(days) => xml.element("Days", &days.to_string()),
                RetentionPeriod::Years(years) => xml.element("Years", &years.to_string()),
            };
            xml.close("DefaultRetention").close("Rule");
        }
        xml.close("ObjectLockConfiguration");
    }
}

/// GetObjectRetention's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionDocument(pub Retention);

impl XmlDocument for RetentionDocument {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("Retention")
            .element("Mode", self.0.mode.as_str())
            .element("RetainUntilDate", &time::iso8601(self.0.retain_until_ms))
            .close("Retention");
    }
}

/// GetObjectLegalHold's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHoldDocument(pub bool);

impl XmlDocument for LegalHoldDocument {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("LegalHold")
            .element("Status", if self.0 { "ON" } else { "OFF" })
            .close("LegalHold");
    }
}

/// SOSAPI's `system.xml`: what the repository offers Veeam (protocol 1.0; capacity reports, no
/// upload sessions, no IAM/STS endpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SosapiSystemInfo {
    /// Product and version.
    pub model_name: &'static str,
}

impl XmlDocument for SosapiSystemInfo {
    fn write(&self, xml: &mut XmlBuilder) {
        // The protocol spells both values as quoted strings inside the element.
        xml.open_with("SystemInfo", &[])
            .element("ProtocolVersion", "\"1.0\"")
            .element("ModelName", &format!("\"{}\"", self.model_name))
            .open("ProtocolCapabilities")
            .element("CapacityInfo", "true")
            .element("UploadSessions", "false")
            .element("IAMSTS", "false")
            .close("ProtocolCapabilities")
            .open("SystemRecommendations")
            .element(
                "S3MultiObjectDeleteLimit",
                &super::DELETE_OBJECTS_KEYS_MAX.to_string(),
            )
            .element("KbBlockSize", "1024")
            .close("SystemRecommendations")
            .close("SystemInfo");
    }
}

/// SOSAPI's `capacity.xml`: the data directory's filesystem, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SosapiCapacityInfo {
    /// Total size.
    pub capacity_bytes: u64,
    /// Free for ringstore's writes.
    pub available_bytes: u64,
    /// In use.
    pub used_bytes: u64,
}

impl XmlDocument for SosapiCapacityInfo {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_with("CapacityInfo", &[])
            .element("Capacity", &self.capacity_bytes.to_string())
            .element("Available", &self.available_bytes.to_string())
            .element("Used", &self.used_bytes.to_string())
            .close("CapacityInfo");
    }
}

/// Get*Tagging's answer: the tag set in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagging(pub Vec<(String, String)>);

impl XmlDocument for Tagging {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("Tagging").open("TagSet");
        for (key, value) in &self.0 {
            xml.open("Tag")
                .element("Key", key)
                .element("Value", value)
                .close("Tag");
        }
        xml.close("TagSet").close("Tagging");
    }
}

/// GetBucketCors's answer: the rules as stored, each member in S3's order (ID, AllowedHeader,
/// AllowedMethod, AllowedOrigin, ExposeHeader, MaxAgeSeconds), only the members set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfigurationDocument(pub CorsConfiguration);

impl XmlDocument for CorsConfigurationDocument {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("CORSConfiguration");
        for rule in &self.0.rules {
            xml.open("CORSRule");
            if let Some(id) = &rule.id {
                xml.element("ID", id);
            }
            for (name, values) in [
                ("AllowedHeader", &rule.allowed_headers),
                ("AllowedMethod", &rule.allowed_methods),
                ("AllowedOrigin", &rule.allowed_origins),
                ("ExposeHeader", &rule.expose_headers),
            ] {
                for value in values {
                    xml.element(name, value);
                }
            }
            if let Some(seconds) = rule.max_age_seconds {
                xml.element("MaxAgeSeconds", &seconds.to_string());
            }
            xml.close("CORSRule");
        }
        xml.close("CORSConfiguration");
    }
}

/// GetBucketPolicyStatus's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyStatus {
    /// Whether the bucket's policy makes it public.
    pub is_public: bool,
}

impl XmlDocument for PolicyStatus {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("PolicyStatus")
            .element("IsPublic", if self.is_public { "true" } else { "false" })
            .close("PolicyStatus");
    }
}

/// GetPublicAccessBlock's answer: all four flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicAccessBlockDocument(pub PublicAccessBlock);

impl XmlDocument for PublicAccessBlockDocument {
    fn write(&self, xml: &mut XmlBuilder) {
        let flag = |value: bool| if value { "true" } else { "false" };
        xml.open_root("PublicAccessBlockConfiguration")
            .element("BlockPublicAcls", flag(self.0.block_public_acls))
            .element("IgnorePublicAcls", flag(self.0.ignore_public_acls))
            .element("BlockPublicPolicy", flag(self.0.block_public_policy))
            .element(
                "RestrictPublicBuckets",
                flag(self.0.restrict_public_buckets),
            )
            .close("PublicAccessBlockConfiguration");
    }
}
