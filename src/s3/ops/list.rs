//! Listing operations: ListObjectsV2, ListObjects (v1) and ListObjectVersions, each a typed unit
//! answering one page from the metadata thread as S3's document.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use base64::Engine;

use std::collections::HashMap;

use crate::meta::{
    ListObjectVersions as ListObjectVersionsCommand, ListQuery, Listing, MetaError,
    VersionSelector, VersionsQuery,
};
use crate::s3::access::Permission;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::handler::{FromRequest, S3Operation};
use crate::s3::payload::PayloadReader;
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::authorized_bucket;
use crate::s3::xml::documents::Owner;
use crate::s3::xml::listing::{
    ListBucketResultV1, ListBucketResultV2, ListEntry, ListHeader, ListVersionsResult,
    VersionListEntry,
};
use crate::s3::S3Context;

/// Keys per page when the client asks for more, or for none (S3 API Reference, ListObjectsV2
/// `max-keys`: "returns up to 1,000 key names").
pub const LIST_KEYS_PER_PAGE_MAX: usize = 1000;

/// Longest prefix, delimiter or marker accepted (keys are at most 1,024 bytes).
const LIST_PARAMETER_BYTES_MAX: usize = 1024;

/// What every listing asks: prefix, delimiter, page size, encoding, owners.
pub struct ListParameters {
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

/// InvalidArgument for a string parameter sent twice or longer than any key could be.
fn check_string_parameters(request: &S3Request<'_>) -> S3Result<()> {
    for name in [
        "prefix",
        "delimiter",
        "marker",
        "start-after",
        "continuation-token",
        "key-marker",
    ] {
        if request.query.iter().filter(|(n, _)| *n == name).count() > 1 {
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
    Ok(())
}

fn parse_parameters(request: &S3Request<'_>) -> S3Result<ListParameters> {
    let max_keys_name = "max-keys";
    check_string_parameters(request)?;
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

impl ListParameters {
    fn header(&self, bucket: &str, prefix_encoded: bool) -> ListHeader {
        ListHeader {
            bucket: bucket.to_string(),
            prefix: self.prefix.clone(),
            prefix_encoded,
            delimiter: self.delimiter.clone(),
            max_keys: self.max_keys,
            url_encoding: self.url_encoding,
        }
    }
}

async fn fetch_page(
    context: &S3Context,
    call: &Call<'_>,
    parameters: &ListParameters,
    after: Option<String>,
) -> S3Result<Listing> {
    authorized_bucket(context, call, Permission::Read).await?;
    let query = ListQuery {
        bucket: call.bucket.to_string(),
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
                S3Error::new(S3ErrorCode::NoSuchBucket).field("BucketName", call.bucket)
            }
            other => other.into(),
        })
}

/// The page's objects as entries, with their owners when `with_owners` (a page has few distinct
/// ones, each looked up once).
async fn entries(
    context: &S3Context,
    listing: &Listing,
    with_owners: bool,
) -> S3Result<Vec<ListEntry>> {
    let mut owners: HashMap<&str, Owner> = HashMap::new();
    let mut entries = Vec::with_capacity(listing.objects.len());
    for object in &listing.objects {
        let owner = if with_owners {
            if !owners.contains_key(object.owner.as_str()) {
                let identity = context.owner_identity(&object.owner).await?;
                owners.insert(&object.owner, Owner::of(&identity));
            }
            owners.get(object.owner.as_str()).cloned()
        } else {
            None
        };
        entries.push(ListEntry {
            key: object.key.clone(),
            last_modified_ms: object.last_modified_ms,
            etag: object.etag.clone(),
            size_bytes: object.size_bytes,
            owner,
            storage_class: object.storage_class.clone(),
        });
    }
    Ok(entries)
}

/// ListObjectsV2.
pub struct ListObjectsV2;

/// What ListObjectsV2 asks.
pub struct ListObjectsV2Input {
    parameters: ListParameters,
    /// The `continuation-token` as sent (echoed).
    continuation_token: Option<String>,
    /// A non-empty `start-after` (echoed).
    start_after: Option<String>,
    /// Where the page starts: the decoded token, else `start-after`.
    after: Option<String>,
}

impl FromRequest<'_> for ListObjectsV2Input {
    fn parse(request: &S3Request<'_>) -> S3Result<ListObjectsV2Input> {
        let parameters = parse_parameters(request)?;
        let token = request.query_value("continuation-token");
        let start_after = request
            .query_value("start-after")
            .filter(|value| !value.is_empty());
        let after = match token {
            Some(token) => {
                let incorrect = || {
                    invalid_argument(
                        "The continuation token provided is incorrect",
                        "continuation-token",
                        token,
                    )
                };
                let bytes = TOKEN.decode(token).map_err(|_| incorrect())?;
                Some(String::from_utf8(bytes).map_err(|_| incorrect())?)
            }
            None => start_after.map(str::to_string),
        };
        Ok(ListObjectsV2Input {
            parameters,
            continuation_token: token.map(str::to_string),
            start_after: start_after.map(str::to_string),
            after,
        })
    }
}

impl S3Operation for ListObjectsV2 {
    type Input<'r> = ListObjectsV2Input;
    type Output = ListBucketResultV2;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<ListBucketResultV2> {
        let parameters = &input.parameters;
        let listing = fetch_page(context, &call, parameters, input.after).await?;
        let next_continuation_token = match &listing.last {
            Some(last) if listing.is_truncated => Some(TOKEN.encode(last.as_bytes())),
            _ => None,
        };
        Ok(ListBucketResultV2 {
            header: parameters.header(call.bucket, true),
            continuation_token: input.continuation_token,
            next_continuation_token,
            start_after: input.start_after,
            is_truncated: listing.is_truncated,
            contents: entries(context, &listing, parameters.fetch_owner).await?,
            common_prefixes: listing.common_prefixes,
        })
    }
}

/// ListObjects (v1): `marker` / `NextMarker`, Owner always shown.
pub struct ListObjects;

/// What ListObjects (v1) asks.
pub struct ListObjectsInput {
    parameters: ListParameters,
    /// `marker` as sent (echoed; empty when absent).
    marker: String,
}

impl FromRequest<'_> for ListObjectsInput {
    fn parse(request: &S3Request<'_>) -> S3Result<ListObjectsInput> {
        Ok(ListObjectsInput {
            parameters: parse_parameters(request)?,
            marker: request
                .query_value("marker")
                .unwrap_or_default()
                .to_string(),
        })
    }
}

impl S3Operation for ListObjects {
    type Input<'r> = ListObjectsInput;
    type Output = ListBucketResultV1;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<ListBucketResultV1> {
        let parameters = &input.parameters;
        let after = (!input.marker.is_empty()).then(|| input.marker.clone());
        let listing = fetch_page(context, &call, parameters, after).await?;
        // S3 returns NextMarker only with a delimiter; without one clients use the last key.
        let next_marker = match &listing.last {
            Some(last) if listing.is_truncated && parameters.delimiter.is_some() => {
                Some(last.clone())
            }
            _ => None,
        };
        Ok(ListBucketResultV1 {
            header: parameters.header(call.bucket, false),
            marker: input.marker,
            next_marker,
            is_truncated: listing.is_truncated,
            contents: entries(context, &listing, true).await?,
            common_prefixes: listing.common_prefixes,
        })
    }
}

/// ListObjectVersions: every version and delete marker, newest first per key.
pub struct ListObjectVersions;

/// What ListObjectVersions asks.
pub struct ListObjectVersionsInput {
    parameters: ListParameters,
    /// `key-marker` as sent (empty when absent).
    key_marker: String,
    /// `version-id-marker` as sent (empty when absent).
    version_id_marker: String,
}

impl FromRequest<'_> for ListObjectVersionsInput {
    fn parse(request: &S3Request<'_>) -> S3Result<ListObjectVersionsInput> {
        let parameters = parse_parameters(request)?;
        let key_marker = request.query_value("key-marker").unwrap_or_default();
        let version_marker = request.query_value("version-id-marker").unwrap_or_default();
        if !version_marker.is_empty() && key_marker.is_empty() {
            return Err(invalid_argument(
                "A version-id marker cannot be specified without a key marker.",
                "version-id-marker",
                version_marker,
            ));
        }
        if !version_marker.is_empty() && VersionSelector::parse(version_marker).is_none() {
            return Err(invalid_argument(
                "Invalid version id specified",
                "version-id-marker",
                version_marker,
            ));
        }
        Ok(ListObjectVersionsInput {
            parameters,
            key_marker: key_marker.to_string(),
            version_id_marker: version_marker.to_string(),
        })
    }
}

impl S3Operation for ListObjectVersions {
    type Input<'r> = ListObjectVersionsInput;
    type Output = ListVersionsResult;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        _payload: PayloadReader<'_, '_>,
    ) -> S3Result<ListVersionsResult> {
        authorized_bucket(context, &call, Permission::Read).await?;
        let parameters = &input.parameters;
        let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_string());
        let query = VersionsQuery {
            bucket: call.bucket.to_string(),
            prefix: parameters.prefix.clone(),
            delimiter: parameters.delimiter.clone(),
            key_marker: non_empty(&input.key_marker),
            version_id_marker: non_empty(&input.version_id_marker),
            max_keys: parameters.max_keys,
        };
        let page = context
            .meta
            .call(ListObjectVersionsCommand(query))
            .await
            .map_err(|error| match error {
                MetaError::NoSuchBucket => {
                    S3Error::new(S3ErrorCode::NoSuchBucket).field("BucketName", call.bucket)
                }
                other => other.into(),
            })?;
        let mut owners: HashMap<String, Owner> = HashMap::new();
        let mut versions = Vec::with_capacity(page.entries.len());
        for entry in page.entries {
            if !owners.contains_key(&entry.owner) {
                let identity = context.owner_identity(&entry.owner).await?;
                owners.insert(entry.owner.clone(), Owner::of(&identity));
            }
            let owner = owners.get(&entry.owner).cloned();
            versions.push(VersionListEntry { entry, owner });
        }
        Ok(ListVersionsResult {
            header: parameters.header(call.bucket, true),
            key_marker: input.key_marker,
            version_id_marker: input.version_id_marker,
            next_key_marker: page.next_key_marker,
            next_version_id_marker: page.next_version_id_marker,
            is_truncated: page.is_truncated,
            versions,
            common_prefixes: page.common_prefixes,
        })
    }
}
