//! Tags as requests carry them: the URL-encoded `x-amz-tagging` header (and POST's `tagging`
//! XML field), the `<Tagging>` document of Put*Tagging, and S3's limits on both (S3 User Guide,
//! "Categorizing your storage using tags"; "Tag restrictions" in the AWS tagging guide).

use crate::s3::auth::sigv4::uri_encode;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::path::percent_decode;

/// Tags one object version may have (S3 User Guide, object tagging: "up to 10 tags").
pub const OBJECT_TAG_COUNT_MAX: usize = 10;

/// Tags one bucket may have (S3 API Reference, PutBucketTagging: "up to 50 tags").
pub const BUCKET_TAG_COUNT_MAX: usize = 50;

/// Longest tag key, in Unicode characters (AWS tag restrictions).
pub const TAG_KEY_CHARS_MAX: usize = 128;

/// Longest tag value, in Unicode characters (AWS tag restrictions).
pub const TAG_VALUE_CHARS_MAX: usize = 256;

/// A tag set in order: (key, value).
pub type TagSet = Vec<(String, String)>;

fn invalid_tag(message: &'static str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidTag, message)
}

/// Whether `text` uses only the characters AWS allows in tags: letters, digits and spaces in any
/// language, and `+ - = . _ : / @`.
fn allowed(text: &str) -> bool {
    // `\p{Z}` (space separators), never control characters: a CR would not survive XML.
    text.chars().all(|c| {
        c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "+-=._:/@".contains(c)
    })
}

/// Checks `tags` against S3's limits: at most `count_max`, keys of 1–128 and values of 0–256
/// characters from the allowed set, no duplicate key, no `aws:` prefix (InvalidTag otherwise).
pub fn validate(tags: &TagSet, count_max: usize) -> S3Result<()> {
    if tags.len() > count_max {
        return Err(invalid_tag(if count_max == OBJECT_TAG_COUNT_MAX {
            "Object tags cannot be greater than 10"
        } else {
            "Bucket tags cannot be greater than 50"
        }));
    }
    for (index, (key, value)) in tags.iter().enumerate() {
        let key_chars = key.chars().count();
        if key_chars == 0 || key_chars > TAG_KEY_CHARS_MAX {
            return Err(invalid_tag("The TagKey you have provided is invalid"));
        }
        if value.chars().count() > TAG_VALUE_CHARS_MAX {
            return Err(invalid_tag("The TagValue you have provided is invalid"));
        }
        if !allowed(key) || !allowed(value) {
            return Err(invalid_tag(
                "The TagKey or TagValue you have provided is invalid",
            ));
        }
        if key.starts_with("aws:") {
            return Err(invalid_tag("Your TagKey cannot be prefixed with aws:"));
        }
        if tags[..index].iter().any(|(earlier, _)| earlier == key) {
            return Err(invalid_tag(
                "Cannot provide multiple Tags with the same key",
            ));
        }
    }
    Ok(())
}

/// Parses an `x-amz-tagging` value (`k1=v1&k2=v2`, URL-encoded, `+` for a space) into a
/// validated object tag set; InvalidArgument if it is not URL-encoded text.
pub fn parse_tagging_header(text: &str) -> S3Result<TagSet> {
    let decode = |part: &str| {
        percent_decode(&part.replace('+', " ")).map_err(|_| {
            S3Error::with_message(S3ErrorCode::InvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
        })
    };
    let mut tags = TagSet::new();
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        tags.push((decode(key)?, decode(value)?));
    }
    validate(&tags, OBJECT_TAG_COUNT_MAX)?;
    Ok(tags)
}

/// A tag set as stored (`None` for an empty one): URL-encoded, as `x-amz-tagging` carries it,
/// sorted by key — a tag set is a map, and S3 answers it in key order.
pub fn encode(tags: &TagSet) -> Option<String> {
    if tags.is_empty() {
        return None;
    }
    let mut sorted: Vec<&(String, String)> = tags.iter().collect();
    sorted.sort();
    let pairs: Vec<String> = sorted
        .into_iter()
        .map(|(key, value)| format!("{}={}", uri_encode(key, false), uri_encode(value, false)))
        .collect();
    Some(pairs.join("&"))
}

/// A stored tag set back (what `encode` wrote; empty for `None`).
pub fn decode(stored: Option<&str>) -> TagSet {
    let Some(text) = stored else {
        return TagSet::new();
    };
    text.split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((percent_decode(key).ok()?, percent_decode(value).ok()?))
        })
        .collect()
}

/// How many tags a stored set has (for `x-amz-tagging-count`).
pub fn count(stored: Option<&str>) -> usize {
    stored.map_or(0, |text| text.split('&').count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_form_round_trips_and_limits_hold() {
        // Goal: `x-amz-tagging` decodes (`+` and %-escapes), stores and reads back the same;
        // S3's limits and forbidden forms are InvalidTag.
        let tags = parse_tagging_header("Hello=World&a+b=c%2Fd&empty=").unwrap();
        assert_eq!(
            tags,
            vec![
                ("Hello".to_string(), "World".to_string()),
                ("a b".to_string(), "c/d".to_string()),
                ("empty".to_string(), String::new()),
            ]
        );
        let mut sorted = tags.clone();
        sorted.sort();
        assert_eq!(decode(encode(&tags).as_deref()), sorted);
        assert_eq!(count(encode(&tags).as_deref()), 3);
        assert_eq!(encode(&TagSet::new()), None);
        let eleven: String = (0..11).map(|i| format!("k{i}=v&")).collect();
        for bad in [
            eleven.as_str(),
            "k=v&k=w",
            "aws:owner=me",
            "=v",
            "k=%3Cscript%3E",
            "k=a%0Db",
            "k%09=v",
            &format!("{}=v", "k".repeat(129)),
            &format!("k={}", "v".repeat(257)),
        ] {
            let error = parse_tagging_header(bad).unwrap_err();
            assert_eq!(error.code, S3ErrorCode::InvalidTag, "{bad}");
        }
        assert!(parse_tagging_header(&format!("{}={}", "k".repeat(128), "é".repeat(256))).is_ok());
    }
}
