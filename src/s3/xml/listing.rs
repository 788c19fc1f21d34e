//! The listing answers: ListObjectsV2, ListObjects and ListObjectVersions, sharing their
//! header, entries and common prefixes (S3 API Reference of each).

use super::documents::{boolean, encoded, Owner, XmlDocument};
use super::XmlBuilder;
use crate::meta::VersionEntry;
use crate::s3::time;
use crate::s3::NULL_VERSION_ID;

/// What every listing answer opens with: `<Name>`, `<Prefix>`, `<Delimiter>`, `<MaxKeys>`,
/// `<EncodingType>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListHeader {
    /// Bucket name.
    pub bucket: String,
    /// The `prefix` asked for.
    pub prefix: String,
    /// Whether `<Prefix>` is URL-encoded with the keys (ListObjects v1 returns it unencoded:
    /// botocore, which AWS keeps in step with S3, decodes it only for v2 and versions).
    pub prefix_encoded: bool,
    /// The `delimiter` asked for.
    pub delimiter: Option<String>,
    /// Page size.
    pub max_keys: usize,
    /// `encoding-type=url`.
    pub url_encoding: bool,
}

impl ListHeader {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.element("Name", &self.bucket);
        encoded(
            xml,
            "Prefix",
            &self.prefix,
            self.url_encoding && self.prefix_encoded,
        );
        if let Some(delimiter) = &self.delimiter {
            encoded(xml, "Delimiter", delimiter, self.url_encoding);
        }
        xml.element("MaxKeys", &self.max_keys.to_string());
        if self.url_encoding {
            xml.element("EncodingType", "url");
        }
    }

    fn write_common_prefixes(&self, xml: &mut XmlBuilder, prefixes: &[String]) {
        for prefix in prefixes {
            xml.open("CommonPrefixes");
            encoded(xml, "Prefix", prefix, self.url_encoding);
            xml.close("CommonPrefixes");
        }
    }
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Object key.
    pub key: String,
    /// Last-Modified, milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
    /// ETag without quotes.
    pub etag: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Its owner, when the listing shows owners.
    pub owner: Option<Owner>,
    /// Storage class when not STANDARD.
    pub storage_class: Option<String>,
}

impl ListEntry {
    /// `<Contents>` of ListObjects / ListObjectsV2.
    fn write_contents(&self, xml: &mut XmlBuilder, url_encoding: bool) {
        xml.open("Contents");
        encoded(xml, "Key", &self.key, url_encoding);
        xml.element("LastModified", &time::iso8601(self.last_modified_ms))
            .element("ETag", &format!("\"{}\"", self.etag))
            .element("Size", &self.size_bytes.to_string());
        if let Some(owner) = &self.owner {
            owner.write_as(xml, "Owner");
        }
        xml.element(
            "StorageClass",
            self.storage_class.as_deref().unwrap_or("STANDARD"),
        )
        .close("Contents");
    }
}

/// ListObjectsV2's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListBucketResultV2 {
    /// Name, prefix, delimiter, page size, encoding.
    pub header: ListHeader,
    /// The `continuation-token` asked with, echoed.
    pub continuation_token: Option<String>,
    /// Where the next page starts, when truncated.
    pub next_continuation_token: Option<String>,
    /// The `start-after` asked with, echoed.
    pub start_after: Option<String>,
    /// More follow.
    pub is_truncated: bool,
    /// The objects.
    pub contents: Vec<ListEntry>,
    /// Keys rolled up at the delimiter.
    pub common_prefixes: Vec<String>,
}

impl XmlDocument for ListBucketResultV2 {
    fn write(&self, xml: &mut XmlBuilder) {
        let url_encoding = self.header.url_encoding;
        xml.open_root("ListBucketResult");
        self.header.write(xml);
        let key_count = self.contents.len() + self.common_prefixes.len();
        xml.element("KeyCount", &key_count.to_string())
            .element("IsTruncated", boolean(self.is_truncated));
        if let Some(token) = &self.continuation_token {
            xml.element("ContinuationToken", token);
        }
        if let Some(token) = &self.next_continuation_token {
            xml.element("NextContinuationToken", token);
        }
        if let Some(start_after) = &self.start_after {
            encoded(xml, "StartAfter", start_after, url_encoding);
        }
        for entry in &self.contents {
            entry.write_contents(xml, url_encoding);
        }
        self.header
            .write_common_prefixes(xml, &self.common_prefixes);
        xml.close("ListBucketResult");
    }
}

/// ListObjects' (v1) answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListBucketResultV1 {
    /// Name, prefix, delimiter, page size, encoding.
    pub header: ListHeader,
    /// The `marker` asked with, echoed.
    pub marker: String,
    /// The last key of a truncated page (S3 returns it only with a delimiter).
    pub next_marker: Option<String>,
    /// More follow.
    pub is_truncated: bool,
    /// The objects.
    pub contents: Vec<ListEntry>,
    /// Keys rolled up at the delimiter.
    pub common_prefixes: Vec<String>,
}

impl XmlDocument for ListBucketResultV1 {
    fn write(&self, xml: &mut XmlBuilder) {
        let url_encoding = self.header.url_encoding;
        xml.open_root("ListBucketResult");
        self.header.write(xml);
        encoded(xml, "Marker", &self.marker, url_encoding);
        xml.element("IsTruncated", boolean(self.is_truncated));
        if let Some(next) = &self.next_marker {
            encoded(xml, "NextMarker", next, url_encoding);
        }
        for entry in &self.contents {
            entry.write_contents(xml, url_encoding);
        }
        self.header
            .write_common_prefixes(xml, &self.common_prefixes);
        xml.close("ListBucketResult");
    }
}

/// One `<Version>` or `<DeleteMarker>` of ListObjectVersions, with its owner's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionListEntry {
    /// The version as the metadata lists it.
    pub entry: VersionEntry,
    /// Its owner.
    pub owner: Option<Owner>,
}

/// ListObjectVersions' answer (S3 API Reference, ListObjectVersions "Response Syntax").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListVersionsResult {
    /// Name, prefix, delimiter, page size, encoding.
    pub header: ListHeader,
    /// The `key-marker` asked with, echoed.
    pub key_marker: String,
    /// The `version-id-marker` asked with, echoed.
    pub version_id_marker: String,
    /// Where the next page starts, when truncated.
    pub next_key_marker: Option<String>,
    /// With `next_key_marker`, when the page ended on a version.
    pub next_version_id_marker: Option<String>,
    /// More follow.
    pub is_truncated: bool,
    /// The versions and delete markers, by key then newest first.
    pub versions: Vec<VersionListEntry>,
    /// Keys rolled up at the delimiter.
    pub common_prefixes: Vec<String>,
}

impl XmlDocument for ListVersionsResult {
    fn write(&self, xml: &mut XmlBuilder) {
        let url_encoding = self.header.url_encoding;
        xml.open_root("ListVersionsResult");
        self.header.write(xml);
        encoded(xml, "KeyMarker", &self.key_marker, url_encoding);
        xml.element("VersionIdMarker", &self.version_id_marker)
            .element("IsTruncated", boolean(self.is_truncated));
        if let Some(next) = &self.next_key_marker {
            encoded(xml, "NextKeyMarker", next, url_encoding);
        }
        if let Some(next) = &self.next_version_id_marker {
            xml.element("NextVersionIdMarker", next);
        }
        for VersionListEntry { entry, owner } in &self.versions {
            let element = if entry.delete_marker {
                "DeleteMarker"
            } else {
                "Version"
            };
            xml.open(element);
            encoded(xml, "Key", &entry.key, url_encoding);
            xml.element(
                "VersionId",
                entry.version_id.as_deref().unwrap_or(NULL_VERSION_ID),
            )
            .element("IsLatest", boolean(entry.is_latest))
            .element("LastModified", &time::iso8601(entry.last_modified_ms));
            if !entry.delete_marker {
                xml.element("ETag", &format!("\"{}\"", entry.etag))
                    .element("Size", &entry.size_bytes.to_string())
                    .element(
                        "StorageClass",
                        entry.storage_class.as_deref().unwrap_or("STANDARD"),
                    );
            }
            if let Some(owner) = owner {
                owner.write_as(xml, "Owner");
            }
            xml.close(element);
        }
        self.header
            .write_common_prefixes(xml, &self.common_prefixes);
        xml.close("ListVersionsResult");
    }
}
