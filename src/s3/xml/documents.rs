//! The response documents of S3's operations, one type each (named as in the AWS S3 API
//! Reference), rendered in one place: an operation returns one and `XmlDocument::render` writes it.
//! The listing answers are in `listing`, the configuration documents in `configuration`.

use super::{DeleteEntry, XmlBuilder};
use crate::meta::multipart::PartRecord;
use crate::meta::upload_listing::UploadsQuery;
use crate::meta::{DeletedVersion, PartExtent};
use crate::s3::access::{Grant, Grantee};
use crate::s3::path::url_encode_key;
use crate::s3::time;
use crate::storage::checksum::{ChecksumAlgorithm, StoredChecksum};

/// The XML Schema instance namespace, for `xsi:type` on grantees.
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// A response document S3 defines.
pub trait XmlDocument {
    /// Writes the document, root element included.
    fn write(&self, xml: &mut XmlBuilder);

    /// The document's bytes, XML declaration first.
    fn render(&self) -> Vec<u8> {
        let mut xml = XmlBuilder::new();
        self.write(&mut xml);
        xml.finish()
    }
}

/// An `<Owner>` (or `<Initiator>`): canonical id and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Canonical user id.
    pub id: String,
    /// Display name.
    pub display_name: String,
}

impl Owner {
    /// The owner element of `identity`.
    pub fn of(identity: &crate::s3::access::Identity) -> Self {
        Owner {
            id: identity.canonical_id.clone(),
            display_name: identity.display_name.clone(),
        }
    }

    /// Writes `<element><ID/><DisplayName/></element>`.
    pub fn write_as(&self, xml: &mut XmlBuilder, element: &str) {
        xml.open(element)
            .element("ID", &self.id)
            .element("DisplayName", &self.display_name)
            .close(element);
    }
}

/// One bucket of a ListBuckets answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketEntry {
    /// Bucket name.
    pub name: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// The bucket's region.
    pub region: String,
}

/// ListBuckets' answer (`ListAllMyBucketsResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListAllMyBucketsResult {
    /// The caller.
    pub owner: Owner,
    /// This page of the caller's buckets, by name.
    pub buckets: Vec<BucketEntry>,
    /// Where the next page starts, when there is one.
    pub continuation_token: Option<String>,
    /// The `prefix` the caller filtered by, echoed when given.
    pub prefix: Option<String>,
}

impl XmlDocument for ListAllMyBucketsResult {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("ListAllMyBucketsResult");
        self.owner.write_as(xml, "Owner");
        xml.open("Buckets");
        for bucket in &self.buckets {
            xml.open("Bucket")
                .element("Name", &bucket.name)
                .element("CreationDate", &time::iso8601(bucket.created_ms))
                .element("BucketRegion", &bucket.region)
                .close("Bucket");
        }
        xml.close("Buckets");
        if let Some(token) = &self.continuation_token {
            xml.element("ContinuationToken", token);
        }
        if let Some(prefix) = &self.prefix {
            xml.element("Prefix", prefix);
        }
        xml.close("ListAllMyBucketsResult");
    }
}

/// GetBucketLocation's answer: the region, empty for us-east-1 (as S3 answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationConstraint {
    /// The region, `None` for us-east-1.
    pub region: Option<String>,
}

impl XmlDocument for LocationConstraint {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("LocationConstraint");
        if let Some(region) = &self.region {
            xml.element_text(region);
        }
        xml.close("LocationConstraint");
    }
}

/// GetBucketVersioning's answer; an unversioned bucket has no `Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersioningConfiguration {
    /// `Enabled` or `Suspended`; `None` for a bucket never versioned.
    pub status: Option<&'static str>,
}

impl XmlDocument for VersioningConfiguration {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("VersioningConfiguration");
        if let Some(status) = self.status {
            xml.element("Status", status);
        }
        xml.close("VersioningConfiguration");
    }
}

/// GetBucketRequestPayment's answer: who pays for requests and transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPaymentConfiguration {
    /// `BucketOwner` or `Requester`.
    pub payer: &'static str,
}

impl XmlDocument for RequestPaymentConfiguration {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("RequestPaymentConfiguration")
            .element("Payer", self.payer)
            .close("RequestPaymentConfiguration");
    }
}

/// Get{Bucket,Object}Acl's answer: the owner and the effective grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessControlPolicy {
    /// The resource's owner.
    pub owner: Owner,
    /// Its grants, in stored order.
    pub grants: Vec<Grant<Grantee>>,
}

impl XmlDocument for AccessControlPolicy {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("AccessControlPolicy");
        self.owner.write_as(xml, "Owner");
        xml.open("AccessControlList");
        for grant in &self.grants {
            xml.open("Grant");
            match &grant.grantee {
                Grantee::User { id, display_name } => {
                    xml.open_with(
                        "Grantee",
                        &[("xmlns:xsi", XSI_NAMESPACE), ("xsi:type", "CanonicalUser")],
                    );
                    xml.element("ID", id).element("DisplayName", display_name);
                }
                Grantee::Group(uri) => {
                    xml.open_with(
                        "Grantee",
                        &[("xmlns:xsi", XSI_NAMESPACE), ("xsi:type", "Group")],
                    );
                    xml.element("URI", uri);
                }
            }
            xml.close("Grantee")
                .element("Permission", grant.permission.name())
                .close("Grant");
        }
        xml.close("AccessControlList").close("AccessControlPolicy");
    }
}

/// Writes `<name>value</name>`, URL-encoded when the client asked for `encoding-type=url`.
pub(super) fn encoded(xml: &mut XmlBuilder, name: &str, value: &str, url_encoding: bool) {
    if url_encoding {
        xml.element(name, &url_encode_key(value));
    } else {
        xml.element(name, value);
    }
}

pub(super) fn boolean(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// The `<ObjectParts>` page of a GetObjectAttributes answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPartsPage {
    /// Every part of the object, in order.
    pub parts: Vec<PartExtent>,
    /// List parts after this many (`x-amz-part-number-marker`).
    pub marker: usize,
    /// At most this many.
    pub max_parts: usize,
    /// The object's checksum algorithm, naming each part's checksum element.
    pub algorithm: Option<ChecksumAlgorithm>,
}

/// GetObjectAttributes' answer: only the attributes asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetObjectAttributesResponse {
    /// ETag without quotes, when asked for.
    pub etag: Option<String>,
    /// The object's checksum, when asked for and present.
    pub checksum: Option<StoredChecksum>,
    /// Its parts, when asked for and multipart.
    pub parts: Option<ObjectPartsPage>,
    /// The storage class, when asked for.
    pub storage_class: Option<String>,
    /// Size in bytes, when asked for.
    pub object_size: Option<u64>,
}

impl XmlDocument for GetObjectAttributesResponse {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("GetObjectAttributesResponse");
        if let Some(etag) = &self.etag {
            xml.element("ETag", etag);
        }
        if let Some(stored) = &self.checksum {
            xml.open("Checksum")
                .element(stored.algorithm.element_name(), &stored.value)
                .element("ChecksumType", stored.type_name())
                .close("Checksum");
        }
        if let Some(page) = &self.parts {
            page.write(xml);
        }
        if let Some(class) = &self.storage_class {
            xml.element("StorageClass", class);
        }
        if let Some(size) = self.object_size {
            xml.element("ObjectSize", &size.to_string());
        }
        xml.close("GetObjectAttributesResponse");
    }
}

impl ObjectPartsPage {
    fn write(&self, xml: &mut XmlBuilder) {
        let shown: Vec<(usize, &PartExtent)> = self
            .parts
            .iter()
            .enumerate()
            .skip(self.marker)
            .take(self.max_parts)
            .collect();
        let truncated = self.marker + shown.len() < self.parts.len();
        xml.open("ObjectParts")
            .element("PartsCount", &self.parts.len().to_string())
            .element("PartNumberMarker", &self.marker.to_string());
        if let Some((index, _)) = shown.last() {
            xml.element("NextPartNumberMarker", &(index + 1).to_string());
        }
        xml.element("MaxParts", &self.max_parts.to_string())
            .element("IsTruncated", boolean(truncated));
        for (index, part) in shown {
            xml.open("Part")
                .element("PartNumber", &(index + 1).to_string())
                .element("Size", &part.size_bytes.to_string());
            if let (Some(algorithm), Some(checksum)) = (self.algorithm, &part.checksum) {
                xml.element(algorithm.element_name(), checksum);
            }
            xml.close("Part");
        }
        xml.close("ObjectParts");
    }
}

/// CopyObject's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyObjectResult {
    /// The copy's Last-Modified, milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
    /// The copy's ETag, without quotes.
    pub etag: String,
}

impl XmlDocument for CopyObjectResult {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("CopyObjectResult")
            .element("LastModified", &time::iso8601(self.last_modified_ms))
            .element("ETag", &format!("\"{}\"", self.etag))
            .close("CopyObjectResult");
    }
}

/// UploadPartCopy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyPartResult {
    /// When the part was recorded, milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
    /// The part's ETag, without quotes.
    pub etag: String,
}

impl XmlDocument for CopyPartResult {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("CopyPartResult")
            .element("LastModified", &time::iso8601(self.last_modified_ms))
            .element("ETag", &format!("\"{}\"", self.etag))
            .close("CopyPartResult");
    }
}

/// What became of one `<Object>` of a DeleteObjects request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// The entry as asked.
    pub entry: DeleteEntry,
    /// (Code, Message) when it was refused; `None`: deleted (or already absent).
    pub refusal: Option<(&'static str, &'static str)>,
    /// What the deletion removed or wrote (a delete marker and its id).
    pub deleted: DeletedVersion,
}

/// DeleteObjects' answer: every refusal, and (unless quiet) every deletion, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteResult {
    /// `<Quiet>true</Quiet>` was asked: deletions are not listed.
    pub quiet: bool,
    /// One per requested object.
    pub outcomes: Vec<DeleteOutcome>,
}

impl XmlDocument for DeleteResult {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("DeleteResult");
        for DeleteOutcome {
            entry,
            refusal,
            deleted,
        } in &self.outcomes
        {
            match refusal {
                Some((code, message)) => {
                    xml.open("Error").element("Key", &entry.key);
                    if let Some(version) = &entry.version_id {
                        xml.element("VersionId", version);
                    }
                    xml.element("Code", code)
                        .element("Message", message)
                        .close("Error");
                }
                None if self.quiet => {}
                None => {
                    xml.open("Deleted").element("Key", &entry.key);
                    if let Some(version) = &entry.version_id {
                        xml.element("VersionId", version);
                    }
                    // S3 API Reference, DeletedObject: a marker written or removed is named.
                    if deleted.delete_marker {
                        xml.element("DeleteMarker", "true");
                        if let Some(marker) = &deleted.version_id {
                            xml.element("DeleteMarkerVersionId", marker);
                        }
                    }
                    xml.close("Deleted");
                }
            }
        }
        xml.close("DeleteResult");
    }
}

/// CreateMultipartUpload's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiateMultipartUploadResult {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The new upload's id.
    pub upload_id: String,
}

impl XmlDocument for InitiateMultipartUploadResult {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("InitiateMultipartUploadResult")
            .element("Bucket", &self.bucket)
            .element("Key", &self.key)
            .element("UploadId", &self.upload_id)
            .close("InitiateMultipartUploadResult");
    }
}

/// CompleteMultipartUpload's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteMultipartUploadResult {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The object's ETag (`<md5>-<parts>`), without quotes.
    pub etag: String,
    /// The object's checksum, when the upload had an algorithm.
    pub checksum: Option<StoredChecksum>,
}

impl XmlDocument for CompleteMultipartUploadResult {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("CompleteMultipartUploadResult")
            .element("Location", &format!("/{}/{}", self.bucket, self.key))
            .element("Bucket", &self.bucket)
            .element("Key", &self.key)
            .element("ETag", &format!("\"{}\"", self.etag));
        if let Some(stored) = &self.checksum {
            xml.element(stored.algorithm.element_name(), &stored.value)
                .element("ChecksumType", stored.type_name());
        }
        xml.close("CompleteMultipartUploadResult");
    }
}

/// `<Initiator>` and `<Owner>`: the same user here (no IAM principals initiate for an account).
fn initiator_and_owner(xml: &mut XmlBuilder, owner: &Owner) {
    owner.write_as(xml, "Initiator");
    owner.write_as(xml, "Owner");
}

/// ListParts' answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPartsResult {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The upload.
    pub upload_id: String,
    /// The `part-number-marker` asked with.
    pub part_number_marker: u32,
    /// Page size.
    pub max_parts: usize,
    /// More follow.
    pub is_truncated: bool,
    /// The upload's checksum algorithm, naming each part's checksum element.
    pub algorithm: Option<ChecksumAlgorithm>,
    /// The storage class the upload's object will have.
    pub storage_class: String,
    /// This page of parts, in order.
    pub parts: Vec<PartRecord>,
    /// Who started the upload.
    pub owner: Owner,
}

impl XmlDocument for ListPartsResult {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open_root("ListPartsResult")
            .element("Bucket", &self.bucket)
            .element("Key", &self.key)
            .element("UploadId", &self.upload_id)
            .element("PartNumberMarker", &self.part_number_marker.to_string());
        if let Some(last) = self.parts.last() {
            xml.element("NextPartNumberMarker", &last.part_number.to_string());
        }
        xml.element("MaxParts", &self.max_parts.to_string())
            .element("IsTruncated", boolean(self.is_truncated));
        for part in &self.parts {
            xml.open("Part")
                .element("PartNumber", &part.part_number.to_string())
                .element("LastModified", &time::iso8601(part.last_modified_ms))
                .element("ETag", &format!("\"{}\"", part.etag))
                .element("Size", &part.size_bytes.to_string());
            if let (Some(algorithm), Some(checksum)) = (self.algorithm, &part.checksum) {
                xml.element(algorithm.element_name(), checksum);
            }
            xml.close("Part");
        }
        initiator_and_owner(xml, &self.owner);
        xml.element("StorageClass", &self.storage_class)
            .close("ListPartsResult");
    }
}

/// One upload of a ListMultipartUploads answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadEntry {
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Who started it.
    pub owner: Owner,
    /// When, milliseconds since the Unix epoch.
    pub initiated_ms: i64,
    /// The storage class the upload's object will have.
    pub storage_class: String,
}

/// ListMultipartUploads' answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListMultipartUploadsResult {
    /// What was asked (bucket, prefix, delimiter, markers, page size).
    pub query: UploadsQuery,
    /// `encoding-type=url`.
    pub url_encoding: bool,
    /// More follow.
    pub is_truncated: bool,
    /// This page of uploads.
    pub uploads: Vec<UploadEntry>,
    /// Keys rolled up at the delimiter.
    pub common_prefixes: Vec<String>,
}

impl XmlDocument for ListMultipartUploadsResult {
    fn write(&self, xml: &mut XmlBuilder) {
        let url_encoding = self.url_encoding;
        let query = &self.query;
        xml.open_root("ListMultipartUploadsResult")
            .element("Bucket", &query.bucket);
        encoded(xml, "KeyMarker", &query.key_marker, url_encoding);
        xml.element("UploadIdMarker", &query.upload_id_marker);
        if self.is_truncated {
            // The page's last entry, an upload or a common prefix (whichever sorts last): the
            // next page's key-marker. After a common prefix the next page starts past all of it.
            let last_prefix = self.common_prefixes.last();
            match self.uploads.last() {
                Some(upload) if last_prefix.is_none_or(|prefix| upload.key > *prefix) => {
                    encoded(xml, "NextKeyMarker", &upload.key, url_encoding);
                    xml.element("NextUploadIdMarker", &upload.upload_id);
                }
                _ => {
                    if let Some(prefix) = last_prefix {
                        encoded(xml, "NextKeyMarker", prefix, url_encoding);
                        xml.element("NextUploadIdMarker", "");
                    }
                }
            }
        }
        encoded(xml, "Prefix", &query.prefix, url_encoding);
        if let Some(delimiter) = &query.delimiter {
            encoded(xml, "Delimiter", delimiter, url_encoding);
        }
        xml.element("MaxUploads", &query.max_uploads.to_string())
            .element("IsTruncated", boolean(self.is_truncated));
        if url_encoding {
            xml.element("EncodingType", "url");
        }
        for upload in &self.uploads {
            xml.open("Upload");
            encoded(xml, "Key", &upload.key, url_encoding);
            xml.element("UploadId", &upload.upload_id);
            initiator_and_owner(xml, &upload.owner);
            xml.element("StorageClass", &upload.storage_class)
                .element("Initiated", &time::iso8601(upload.initiated_ms))
                .close("Upload");
        }
        for prefix in &self.common_prefixes {
            xml.open("CommonPrefixes");
            encoded(xml, "Prefix", prefix, url_encoding);
            xml.close("CommonPrefixes");
        }
        xml.close("ListMultipartUploadsResult");
    }
}

/// PostObject's answer with `success_action_status=201`. S3's PostResponse carries no namespace
/// (S3 API Reference, POST Object example).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostResponse {
    /// `/bucket/key`, the key URL-encoded.
    pub location: String,
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// ETag, quoted.
    pub etag: String,
}

impl XmlDocument for PostResponse {
    fn write(&self, xml: &mut XmlBuilder) {
        xml.open("PostResponse")
            .element("Location", &self.location)
            .element("Bucket", &self.bucket)
            .element("Key", &self.key)
            .element("ETag", &self.etag)
            .close("PostResponse");
    }
}
