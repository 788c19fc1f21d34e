//! Listing operations: ListObjectsV2, ListObjects (v1) and ListObjectVersions, each one page
//! from the metadata thread rendered as S3's XML.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use base64::Engine;

use std::collections::HashMap;

use crate::http::Response;
use crate::meta::{ListQuery, Listing, MetaError, ObjectSummary};
use crate::s3::access::{Identity, Permission};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::path::url_encode_key;
use crate::s3::payload::PayloadReader;
use crate::s3::request::S3Request;
use crate::s3::resource::authorized_bucket;
use crate::s3::xml::XmlBuilder;
use crate::s3::NULL_VERSION_ID;
use crate::s3::{time, S3Context};

/// Keys per page when the client asks for more, or for none (S3 API Reference, ListObjectsV2
/// `max-keys`: "returns up to 1,000 key names").
pub const LIST_KEYS_PER_PAGE_MAX: usize = 1000;

/// Longest prefix, delimiter or marker accepted (keys are at most 1,024 bytes).
const LIST_PARAMETER_BYTES_MAX: usize = 1024;

struct ListParameters {
    prefix: String,
    delimiter: Option<String>,
    max_keys: usize,
    url_encoding: bool,
    fetch_owner: bool,
}

fn invalid_argument(message: impl Into<String>, name: &'static str, value: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message.into())
        .field("ArgumentName", name)
        .field("ArgumentValue", value)
}

fn parse_parameters(
    request: &S3Request<'_>,
    max_keys_name: &'static str,
) -> S3Result<ListParameters> {
    for name in [
        "prefix",
        "delimiter",
        "marker",
        "start-after",
        "continuation-token",
        "key-marker",
    ] {
        if request.query.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(invalid_argument(
                format!("Duplicate query parameter: {name}"),
                "query",
                name,
            ));
        }
        if request
            .query_value(name)
            .is_some_and(|value| value.len() > LIST_PARAMETER_BYTES_MAX)
        {
            return Err(invalid_argument(
                format!("{name} is too long"),
                "query",
                name,
            ));
        }
    }
    let max_keys = match request.query_value(max_keys_name) {
        None => LIST_KEYS_PER_PAGE_MAX,
        Some(text) => match text.parse::<i32>() {
            Ok(value) if value >= 0 => (value as usize).min(LIST_KEYS_PER_PAGE_MAX),
            Ok(_) => {
                return Err(invalid_argument(
                    "Argument maxKeys must be an integer between 0 and 2147483647",
                    max_keys_name,
                    text,
                ))
            }
            Err(_) => {
                return Err(invalid_argument(
                    "Provided max-keys not an integer or within integer range",
                    max_keys_name,
                    text,
                ))
            }
        },
    };
    let url_encoding = match request.query_value("encoding-type") {
        None => false,
        Some(value) if value.eq_ignore_ascii_case("url") => true,
        Some(value) => {
            return Err(invalid_argument(
                "Invalid Encoding Method specified in Request",
                "encoding-type",
                value,
            ))
        }
    };
    let fetch_owner = request
        .query_value("fetch-owner")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    Ok(ListParameters {
        prefix: request
            .query_value("prefix")
            .unwrap_or_default()
            .to_string(),
        delimiter: request
            .query_value("delimiter")
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        max_keys,
        url_encoding,
        fetch_owner,
    })
}

async fn fetch_page(
    context: &S3Context,
    request: &S3Request<'_>,
    parameters: &ListParameters,
    after: Option<String>,
) -> S3Result<Listing> {
    authorized_bucket(context, &request.call(), Permission::Read).await?;
    let query = ListQuery {
        bucket: request.bucket().to_string(),
        prefix: parameters.prefix.clone(),
        delimiter: parameters.delimiter.clone(),
        after,
        max_keys: parameters.max_keys,
    };
    context
        .meta
        .list_objects(query)
        .await
        .map_err(|error| match error {
            MetaError::NoSuchBucket => {
                S3Error::new(S3ErrorCode::NoSuchBucket).field("BucketName", request.bucket())
            }
            other => other.into(),
        })
}

/// Writes `<name>value</name>`, URL-encoded when the client asked for it.
fn encoded(xml: &mut XmlBuilder, name: &str, value: &str, url_encoding: bool) {
    if url_encoding {
        xml.element(name, &url_encode_key(value));
    } else {
        xml.element(name, value);
    }
}

/// The identities of the listed objects' owners (a page has few distinct ones).
async fn owners(context: &S3Context, listing: &Listing) -> S3Result<HashMap<String, Identity>> {
    let mut owners = HashMap::new();
    for object in &listing.objects {
        if !owners.contains_key(&object.owner) {
            let identity = context.owner_identity(&object.owner).await?;
            owners.insert(object.owner.clone(), identity);
        }
    }
    Ok(owners)
}

fn owner(xml: &mut XmlBuilder, owners: &HashMap<String, Identity>, access_key: &str) {
    if let Some(identity) = owners.get(access_key) {
        xml.open("Owner")
            .element("ID", &identity.canonical_id)
            .element("DisplayName", &identity.display_name)
            .close("Owner");
    }
}

fn object_fields(xml: &mut XmlBuilder, object: &ObjectSummary, url_encoding: bool) {
    encoded(xml, "Key", &object.key, url_encoding);
    xml.element("LastModified", &time::iso8601(object.last_modified_ms))
        .element("ETag", &format!("\"{}\"", object.etag))
        .element("Size", &object.size_bytes.to_string());
}

fn common_prefixes(xml: &mut XmlBuilder, listing: &Listing, url_encoding: bool) {
    for prefix in &listing.common_prefixes {
        xml.open("CommonPrefixes");
        encoded(xml, "Prefix", prefix, url_encoding);
        xml.close("CommonPrefixes");
    }
}

/// `<Name>`, `<Prefix>`, `<Delimiter>`, `<MaxKeys>`, `<EncodingType>`. ListObjects (v1) returns
/// its Prefix unencoded (botocore, which AWS keeps in step with S3, decodes it only for v2 and
/// versions).
fn header_fields(
    xml: &mut XmlBuilder,
    request: &S3Request<'_>,
    parameters: &ListParameters,
    prefix_encoded: bool,
) {
    xml.element("Name", request.bucket());
    encoded(
        xml,
        "Prefix",
        &parameters.prefix,
        parameters.url_encoding && prefix_encoded,
    );
    if let Some(delimiter) = &parameters.delimiter {
        encoded(xml, "Delimiter", delimiter, parameters.url_encoding);
    }
    xml.element("MaxKeys", &parameters.max_keys.to_string());
    if parameters.url_encoding {
        xml.element("EncodingType", "url");
    }
}

/// ListObjectsV2.
pub async fn list_objects_v2(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let parameters = parse_parameters(request, "max-keys")?;
    let token = request.query_value("continuation-token");
    let start_after = request
        .query_value("start-after")
        .filter(|value| !value.is_empty());
    let after = match token {
        Some(token) => {
            let bytes = TOKEN.decode(token).map_err(|_| {
                invalid_argument(
                    "The continuation token provided is incorrect",
                    "continuation-token",
                    token,
                )
            })?;
            Some(String::from_utf8(bytes).map_err(|_| {
                invalid_argument(
                    "The continuation token provided is incorrect",
                    "continuation-token",
                    token,
                )
            })?)
        }
        None => start_after.map(str::to_string),
    };
    let listing = fetch_page(context, request, &parameters, after).await?;
    let owners = if parameters.fetch_owner {
        owners(context, &listing).await?
    } else {
        HashMap::new()
    };
    let mut xml = XmlBuilder::new();
    xml.open_root("ListBucketResult");
    header_fields(&mut xml, request, &parameters, true);
    xml.element(
        "KeyCount",
        &(listing.objects.len() + listing.common_prefixes.len()).to_string(),
    );
    xml.element(
        "IsTruncated",
        if listing.is_truncated {
            "true"
        } else {
            "false"
        },
    );
    if let Some(token) = token {
        xml.element("ContinuationToken", token);
    }
    if listing.is_truncated {
        if let Some(last) = &listing.last {
            xml.element("NextContinuationToken", &TOKEN.encode(last.as_bytes()));
        }
    }
    if let Some(start_after) = start_after {
        encoded(&mut xml, "StartAfter", start_after, parameters.url_encoding);
    }
    for object in &listing.objects {
        xml.open("Contents");
        object_fields(&mut xml, object, parameters.url_encoding);
        owner(&mut xml, &owners, &object.owner);
        xml.element("StorageClass", "STANDARD").close("Contents");
    }
    common_prefixes(&mut xml, &listing, parameters.url_encoding);
    xml.close("ListBucketResult");
    Ok(Response::xml(xml.finish()))
}

/// ListObjects (v1): `marker` / `NextMarker`, Owner always shown.
pub async fn list_objects_v1(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let parameters = parse_parameters(request, "max-keys")?;
    let marker = request.query_value("marker").unwrap_or_default();
    let after = (!marker.is_empty()).then(|| marker.to_string());
    let listing = fetch_page(context, request, &parameters, after).await?;
    let owners = owners(context, &listing).await?;
    let mut xml = XmlBuilder::new();
    xml.open_root("ListBucketResult");
    header_fields(&mut xml, request, &parameters, false);
    encoded(&mut xml, "Marker", marker, parameters.url_encoding);
    xml.element(
        "IsTruncated",
        if listing.is_truncated {
            "true"
        } else {
            "false"
        },
    );
    // S3 returns NextMarker only with a delimiter; without one clients use the last key.
    if listing.is_truncated && parameters.delimiter.is_some() {
        if let Some(last) = &listing.last {
            encoded(&mut xml, "NextMarker", last, parameters.url_encoding);
        }
    }
    for object in &listing.objects {
        xml.open("Contents");
        object_fields(&mut xml, object, parameters.url_encoding);
        owner(&mut xml, &owners, &object.owner);
        xml.element("StorageClass", "STANDARD").close("Contents");
    }
    common_prefixes(&mut xml, &listing, parameters.url_encoding);
    xml.close("ListBucketResult");
    Ok(Response::xml(xml.finish()))
}

/// ListObjectVersions on an unversioned bucket: each object is its single `null` version.
pub async fn list_object_versions(
    context: &S3Context,
    request: &S3Request<'_>,
    _payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let parameters = parse_parameters(request, "max-keys")?;
    let key_marker = request.query_value("key-marker").unwrap_or_default();
    let version_marker = request.query_value("version-id-marker").unwrap_or_default();
    if !version_marker.is_empty() && key_marker.is_empty() {
        return Err(invalid_argument(
            "A version-id marker cannot be specified without a key marker.",
            "version-id-marker",
            version_marker,
        ));
    }
    if !version_marker.is_empty() && version_marker != NULL_VERSION_ID {
        return Err(invalid_argument(
            "Invalid version id specified",
            "version-id-marker",
            version_marker,
        ));
    }
    // With one version per key, resuming after (key, null) and after key are the same place.
    let after = (!key_marker.is_empty()).then(|| key_marker.to_string());
    let listing = fetch_page(context, request, &parameters, after).await?;
    let owners = owners(context, &listing).await?;
    let mut xml = XmlBuilder::new();
    xml.open_root("ListVersionsResult");
    header_fields(&mut xml, request, &parameters, true);
    encoded(&mut xml, "KeyMarker", key_marker, parameters.url_encoding);
    xml.element("VersionIdMarker", version_marker);
    xml.element(
        "IsTruncated",
        if listing.is_truncated {
            "true"
        } else {
            "false"
        },
    );
    if listing.is_truncated {
        if let Some(last) = &listing.last {
            encoded(&mut xml, "NextKeyMarker", last, parameters.url_encoding);
            xml.element("NextVersionIdMarker", NULL_VERSION_ID);
        }
    }
    for object in &listing.objects {
        xml.open("Version");
        encoded(&mut xml, "Key", &object.key, parameters.url_encoding);
        xml.element("VersionId", NULL_VERSION_ID)
            .element("IsLatest", "true");
        xml.element("LastModified", &time::iso8601(object.last_modified_ms))
            .element("ETag", &format!("\"{}\"", object.etag))
            .element("Size", &object.size_bytes.to_string())
            .element("StorageClass", "STANDARD");
        owner(&mut xml, &owners, &object.owner);
        xml.close("Version");
    }
    common_prefixes(&mut xml, &listing, parameters.url_encoding);
    xml.close("ListVersionsResult");
    Ok(Response::xml(xml.finish()))
}
