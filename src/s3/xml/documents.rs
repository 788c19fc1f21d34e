//! The response documents of S3's operations, one type each (named as in the AWS S3 API
//! Reference), rendered in one place: an operation returns one and `XmlDocument::render` writes it.

use super::XmlBuilder;
use crate::s3::time;

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
