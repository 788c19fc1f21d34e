//! S3's XML bodies: rendered with quick-xml (the response documents are types in `documents`),
//! and request bodies parsed into a bounded tree (`parse_tree`): DeleteObjects and
//! CompleteMultipartUpload here, settings bodies in `settings`, lifecycle in `lifecycle`.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};

use super::error::{S3Error, S3ErrorCode, S3Result};

pub mod configuration;
pub mod documents;
pub mod lifecycle;
pub mod listing;
pub mod settings;

pub use documents::XmlDocument;
pub use settings::{
    parse_cors_configuration, parse_create_bucket_configuration, parse_encryption_configuration,
    parse_legal_hold, parse_object_lock_configuration, parse_public_access_block, parse_retention,
    parse_tagging, parse_versioning_configuration, VersioningRequest,
};

/// The S3 XML namespace on result documents.
pub const S3_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// A small writer over quick-xml that cannot fail (it writes into a `Vec`).
pub struct XmlBuilder {
    writer: Writer<Vec<u8>>,
}

impl Default for XmlBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlBuilder {
    /// A document with the XML declaration written.
    pub fn new() -> Self {
        let mut writer = Writer::new(Vec::with_capacity(512));
        writer
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .expect("write to Vec");
        XmlBuilder { writer }
    }

    /// Opens `<name>`.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.writer
            .write_event(Event::Start(BytesStart::new(name)))
            .expect("write to Vec");
        self
    }

    /// Opens `<name xmlns="…S3…">`.
    pub fn open_root(&mut self, name: &str) -> &mut Self {
        let mut start = BytesStart::new(name);
        start.push_attribute(("xmlns", S3_NAMESPACE));
        self.writer
            .write_event(Event::Start(start))
            .expect("write to Vec");
        self
    }

    /// Opens `<name a="v" …>`.
    pub fn open_with(&mut self, name: &str, attributes: &[(&str, &str)]) -> &mut Self {
        let mut start = BytesStart::new(name);
        for attribute in attributes {
            start.push_attribute(*attribute);
        }
        self.writer
            .write_event(Event::Start(start))
            .expect("write to Vec");
        self
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.writer
            .write_event(Event::End(BytesEnd::new(name)))
            .expect("write to Vec");
        self
    }

    /// Writes `<name>text</name>` with the text escaped.
    pub fn element(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        self.writer
            .write_event(Event::Text(BytesText::new(text)))
            .expect("write to Vec");
        self.close(name)
    }

    /// Writes escaped text inside the open element.
    pub fn element_text(&mut self, text: &str) -> &mut Self {
        self.writer
            .write_event(Event::Text(BytesText::new(text)))
            .expect("write to Vec");
        self
    }

    /// The document bytes.
    pub fn finish(self) -> Vec<u8> {
        self.writer.into_inner()
    }
}

/// The `<Error>` document for `error`.
pub fn error_document(error: &S3Error, resource: &str, request_id: &str) -> Vec<u8> {
    let mut xml = XmlBuilder::new();
    xml.open("Error")
        .element("Code", error.code.as_str())
        .element("Message", &error.message);
    for (name, value) in &error.fields {
        xml.element(name, value);
    }
    xml.element("Resource", resource)
        .element("RequestId", request_id)
        .close("Error");
    xml.finish()
}

/// Keys per DeleteObjects request (S3 API Reference, DeleteObjects: "up to 1,000 keys").
pub const DELETE_OBJECTS_KEYS_MAX: usize = 1000;

/// Nesting accepted in request XML; deeper documents are refused before they cost anything.
const XML_DEPTH_MAX: usize = 8;

/// One `<Object>` of a DeleteObjects body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteEntry {
    /// Key.
    pub key: String,
    /// VersionId, if given.
    pub version_id: Option<String>,
    /// `<ETag>`: delete only if the object has it (conditional delete).
    pub etag: Option<String>,
    /// `<LastModifiedTime>` (ISO 8601): delete only if the object was last modified then.
    pub last_modified_time: Option<String>,
    /// `<Size>`: delete only if the object has this size.
    pub size: Option<String>,
}

/// A parsed DeleteObjects body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRequest {
    /// Report only errors.
    pub quiet: bool,
    /// Objects to delete, in order.
    pub objects: Vec<DeleteEntry>,
}

/// Elements accepted in one request document (10,000 CompleteMultipartUpload parts of a few
/// elements each fit; anything bigger is refused before it costs memory).
const XML_ELEMENT_COUNT_MAX: usize = 50_000;

/// A parsed element: name, its text (entities resolved), and child elements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XmlNode {
    /// Local name.
    pub name: String,
    /// Concatenated text content.
    pub text: String,
    /// Child elements in order.
    pub children: Vec<XmlNode>,
}

impl XmlNode {
    /// The first child called `name`.
    pub fn child(&self, name: &str) -> Option<&XmlNode> {
        self.children.iter().find(|child| child.name == name)
    }
}

/// Whether XML 1.0 allows `c` in a document (its `Char` production): no control character but
/// tab, line feed and carriage return. Anything else read from a body would be echoed into
/// answers that are no longer XML (or into headers).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
}

/// `text` when every character is one XML allows, else MalformedXML.
fn xml_chars(text: &str) -> S3Result<&str> {
    if text.chars().all(is_xml_char) {
        Ok(text)
    } else {
        Err(S3Error::new(S3ErrorCode::MalformedXML))
    }
}

/// Parses a request body into a bounded tree: no DTDs (so no entity expansion), at most
/// `XML_DEPTH_MAX` levels and `XML_ELEMENT_COUNT_MAX` elements, one root and nothing but
/// whitespace around it, only characters XML 1.0 allows.
// Long on purpose: one event loop over quick-xml, every bound checked on the event that could
// break it.
pub fn parse_tree(body: &[u8]) -> S3Result<XmlNode> {
    let malformed = || S3Error::new(S3ErrorCode::MalformedXML);
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<XmlNode> = Vec::new();
    let mut root: Option<XmlNode> = None;
    let mut count = 0usize;
    loop {
        match reader.read_event().map_err(|_| malformed())? {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(malformed());
            }
            Event::Start(start) => {
                count += 1;
                if stack.len() >= XML_DEPTH_MAX || count > XML_ELEMENT_COUNT_MAX {
                    return Err(malformed());
                }
                let name = std::str::from_utf8(start.local_name().as_ref())
                    .map_err(|_| malformed())?
                    .to_string();
                stack.push(XmlNode {
                    name,
                    ..XmlNode::default()
                });
            }
            Event::Empty(start) => {
                count += 1;
                if stack.len() >= XML_DEPTH_MAX || count > XML_ELEMENT_COUNT_MAX {
                    return Err(malformed());
                }
                let name = std::str::from_utf8(start.local_name().as_ref())
                    .map_err(|_| malformed())?
                    .to_string();
                let node = XmlNode {
                    name,
                    ..XmlNode::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(content) => {
                let text = content.decode().map_err(|_| malformed())?;
                match stack.last_mut() {
                    Some(node) => node.text.push_str(xml_chars(&text)?),
                    // Only whitespace may stand outside the root element.
                    None if text.trim().is_empty() => {}
                    None => return Err(malformed()),
                }
            }
            Event::CData(data) => {
                let text = std::str::from_utf8(&data).map_err(|_| malformed())?;
                match stack.last_mut() {
                    Some(node) => node.text.push_str(xml_chars(text)?),
                    None => return Err(malformed()),
                }
            }
            Event::GeneralRef(reference) => {
                let name = reference.decode().map_err(|_| malformed())?;
                let resolved = match name.as_ref() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => reference
                        .resolve_char_ref()
                        .ok()
                        .flatten()
                        .ok_or_else(malformed)?,
                };
                if !is_xml_char(resolved) {
                    return Err(malformed());
                }
                match stack.last_mut() {
                    Some(node) => node.text.push(resolved),
                    None => return Err(malformed()),
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or_else(malformed)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::DocType(_) => return Err(malformed()),
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(malformed());
    }
    root.ok_or_else(malformed)
}

/// Parses `<Delete><Quiet/>?<Object><Key/><VersionId/>?</Object>…</Delete>`; keys keep their
/// exact text, entities included.
pub fn parse_delete_objects(body: &[u8]) -> S3Result<DeleteRequest> {
    let malformed = || S3Error::new(S3ErrorCode::MalformedXML);
    let root = parse_tree(body)?;
    if root.name != "Delete" {
        return Err(malformed());
    }
    let mut request = DeleteRequest {
        quiet: false,
        objects: Vec::new(),
    };
    for child in &root.children {
        match child.name.as_str() {
            "Quiet" => request.quiet = child.text.trim().eq_ignore_ascii_case("true"),
            "Object" => {
                let key = child.child("Key").ok_or_else(malformed)?.text.clone();
                let version_id = child.child("VersionId").map(|node| node.text.clone());
                if child.children.iter().any(|node| {
                    !matches!(
                        node.name.as_str(),
                        "Key" | "VersionId" | "ETag" | "LastModifiedTime" | "Size"
                    )
                }) {
                    return Err(malformed());
                }
                let text = |name: &str| child.child(name).map(|node| node.text.trim().to_string());
                request.objects.push(DeleteEntry {
                    key,
                    version_id,
                    etag: text("ETag"),
                    last_modified_time: text("LastModifiedTime"),
                    size: text("Size"),
                });
                if request.objects.len() > DELETE_OBJECTS_KEYS_MAX {
                    return Err(malformed());
                }
            }
            _ => return Err(malformed()),
        }
    }
    if request.objects.is_empty() {
        return Err(malformed());
    }
    Ok(request)
}

/// Parses `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>…</CompleteMultipartUpload>`
/// into (part number, ETag without quotes, any `Checksum*` value) in the order given.
pub fn parse_complete_multipart_upload(
    body: &[u8],
) -> S3Result<Vec<(u32, String, Option<String>)>> {
    let malformed = || S3Error::new(S3ErrorCode::MalformedXML);
    let root = parse_tree(body)?;
    if root.name != "CompleteMultipartUpload" {
        return Err(malformed());
    }
    let mut parts = Vec::with_capacity(root.children.len());
    for part in &root.children {
        if part.name != "Part" {
            return Err(malformed());
        }
        let number: u32 = part
            .child("PartNumber")
            .ok_or_else(malformed)?
            .text
            .trim()
            .parse()
            .map_err(|_| malformed())?;
        let etag = part
            .child("ETag")
            .ok_or_else(malformed)?
            .text
            .trim()
            .trim_matches('"')
            .to_string();
        let checksum = part
            .children
            .iter()
            .find(|child| child.name.starts_with("Checksum") && child.name != "ChecksumType")
            .map(|child| child.text.trim().to_string());
        parts.push((number, etag, checksum));
    }
    if parts.is_empty() || parts.len() > crate::limits::PART_NUMBER_MAX as usize {
        return Err(malformed());
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_document_matches_aws_example() {
        // Goal: the error body has the shape of the AWS API Reference "Error responses" example.
        let error = S3Error::new(S3ErrorCode::NoSuchKey).field("Key", "a<b");
        let body =
            String::from_utf8(error_document(&error, "/mybucket/a<b", "4442587FB7D0A2F9")).unwrap();
        assert_eq!(
            body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>\
             <Message>The specified key does not exist.</Message><Key>a&lt;b</Key>\
             <Resource>/mybucket/a&lt;b</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>"
        );
    }

    #[test]
    fn parses_delete_objects() {
        // Goal: the documented DeleteObjects body parses with exact keys; bad bodies are MalformedXML.
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>
  <Object><Key>sample1.txt</Key></Object>
  <Object><Key> a &amp; b &#x20AC;</Key><VersionId>null</VersionId></Object>
</Delete>"#;
        let parsed = parse_delete_objects(body).unwrap();
        assert!(parsed.quiet);
        assert_eq!(
            parsed.objects[0],
            DeleteEntry {
                key: "sample1.txt".into(),
                version_id: None,
                etag: None,
                last_modified_time: None,
                size: None,
            }
        );
        assert_eq!(
            parsed.objects[1],
            DeleteEntry {
                key: " a & b €".into(),
                version_id: Some("null".into()),
                etag: None,
                last_modified_time: None,
                size: None,
            }
        );
        let too_many = format!(
            "<Delete>{}</Delete>",
            "<Object><Key>k</Key></Object>".repeat(1001)
        );
        for bad in [
            &b"<Delete></Delete>"[..],
            b"<Delete><Object></Object></Delete>",
            b"<Other/>",
            b"junk",
            too_many.as_bytes(),
            b"<!DOCTYPE d [<!ENTITY x \"y\">]><Delete><Object><Key>&x;</Key></Object></Delete>",
            b"<Delete><Object><Key>k</Key><Deep><Deeper/></Deep></Object></Delete>",
        ] {
            assert_eq!(
                parse_delete_objects(bad).unwrap_err().code,
                S3ErrorCode::MalformedXML
            );
        }
    }

    #[test]
    fn parses_complete_multipart_upload() {
        // Goal: the documented completion body parses with quoted or entity-escaped ETags.
        let body = br#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Part><PartNumber>1</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag></Part>
  <Part><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag><PartNumber>2</PartNumber><ChecksumCRC32>x</ChecksumCRC32></Part>
</CompleteMultipartUpload>"#;
        let parts = parse_complete_multipart_upload(body).unwrap();
        assert_eq!(
            parts,
            vec![
                (1, "a54357aff0632cce46d942af68356b38".to_string(), None),
                (
                    2,
                    "0c78aef83f66abc1fa1e8477f296d394".to_string(),
                    Some("x".to_string())
                )
            ]
        );
        for bad in [&b"<CompleteMultipartUpload/>"[..], b"<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>", b"<Other/>", b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>"] {
            assert_eq!(parse_complete_multipart_upload(bad).unwrap_err().code, S3ErrorCode::MalformedXML);
        }
    }

    #[test]
    fn parses_location_constraint() {
        // Goal: the documented CreateBucket bodies parse; junk is MalformedXML.
        let body = br#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#;
        assert_eq!(
            parse_create_bucket_configuration(body).unwrap(),
            Some("eu-west-1".to_string())
        );
        assert_eq!(parse_create_bucket_configuration(b"").unwrap(), None);
        assert_eq!(
            parse_create_bucket_configuration(b"<CreateBucketConfiguration/>").unwrap(),
            None
        );
        for junk in [
            &b"<nope>"[..],
            b"<Other></Other>",
            b"not xml",
            b"<CreateBucketConfiguration><LocationConstraint>x",
        ] {
            assert_eq!(
                parse_create_bucket_configuration(junk).unwrap_err().code,
                S3ErrorCode::MalformedXML,
                "{junk:?}"
            );
        }
        let entity = br#"<!DOCTYPE x [<!ENTITY a "aaaa">]><CreateBucketConfiguration><LocationConstraint>&a;</LocationConstraint></CreateBucketConfiguration>"#;
        assert!(parse_create_bucket_configuration(entity).is_err());
    }

    #[test]
    fn tagging_documents_need_one_key_and_one_value_per_tag() {
        // Goal: a Tag without its Value, with a second Key, or with an unknown element is
        // MalformedXML (S3's schema requires exactly Key and Value); a well-formed one parses.
        let tag = |inner: &str| {
            format!("<Tagging><TagSet><Tag>{inner}</Tag></TagSet></Tagging>").into_bytes()
        };
        for bad in [
            "<Key>k</Key>",
            "<Key>k</Key><Key>j</Key><Value>v</Value>",
            "<Key>k</Key><Value>v</Value><Extra/>",
        ] {
            let error = parse_tagging(&tag(bad), 10).unwrap_err();
            assert_eq!(error.code, S3ErrorCode::MalformedXML, "{bad}");
        }
        assert_eq!(
            parse_tagging(&tag("<Key>k</Key><Value></Value>"), 10).unwrap(),
            vec![("k".to_string(), String::new())]
        );
    }
}
