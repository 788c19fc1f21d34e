//! AWS Signature Version 2 as pure functions (S3 Developer Guide, "Signing and authenticating
//! REST requests"): the canonicalized resource and amz headers, the string to sign, and the
//! base64 HMAC-SHA1 signature.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};

/// Query parameters that belong to the canonicalized resource: S3's sub-resources and response
/// overrides, as botocore's `HmacV1Auth` (the most common V2 signer) lists them.
pub const SIGNED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// Sub-resources that choose an operation but that V2 signers (botocore's list) leave out of the
/// canonicalized resource: a V2 request naming one is refused, or a signature for another
/// request on the same bucket could be pointed at it. (`list-type` and `attributes` only choose
/// between reads of the same resource, so they stay allowed.)
pub const UNSIGNABLE_SUBRESOURCES: &[&str] = &[
    "encryption",
    "intelligent-tiering",
    "ownershipControls",
    "policyStatus",
    "publicAccessBlock",
];

/// `/bucket/key?sub-resources`: `resource_path` is the path as sent (still percent-encoded),
/// prefixed with `/bucket` by the caller for virtual-hosted-style requests; `raw_query` is the
/// query as sent. Sub-resources are sorted by name, their values percent-decoded, and a name sent
/// without `=` is written without it.
pub fn canonicalized_resource(resource_path: &str, raw_query: &str) -> String {
    let mut subresources: Vec<(String, Option<String>)> = raw_query
        .split('&')
        .filter(|part| !part.is_empty())
        .filter_map(|part| {
            let (name, value) = match part.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (part, None),
            };
            let name = decode(name);
            SIGNED_SUBRESOURCES
                .contains(&name.as_str())
                .then(|| (name, value.map(decode)))
        })
        .collect();
    subresources.sort_by(|left, right| left.0.cmp(&right.0));
    let mut resource = resource_path.to_string();
    for (index, (name, value)) in subresources.iter().enumerate() {
        resource.push(if index == 0 { '?' } else { '&' });
        resource.push_str(name);
        if let Some(value) = value {
            resource.push('=');
            resource.push_str(value);
        }
    }
    resource
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The `x-amz-*` headers, names lower-case and sorted, repeated names' values joined with `,`,
/// each `name:value\n`.
pub fn canonicalized_amz_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut amz: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if !name.starts_with("x-amz-") {
            continue;
        }
        // Values are trimmed, not re-spaced (the HTTP parser refuses folded lines).
        let value = value.trim().to_string();
        match amz.iter_mut().find(|(known, _)| *known == name) {
            Some((_, values)) => values.push(value),
            None => amz.push((name, vec![value])),
        }
    }
    amz.sort_by(|left, right| left.0.cmp(&right.0));
    amz.iter()
        .map(|(name, values)| format!("{name}:{}\n", values.join(",")))
        .collect()
}

/// `VERB\nContent-MD5\nContent-Type\nDate\nCanonicalizedAmzHeaders` + `CanonicalizedResource`;
/// `date` is the `Date` header (empty when `x-amz-date` is sent) or a presigned URL's `Expires`.
pub fn string_to_sign(
    method: &str,
    content_md5: &str,
    content_type: &str,
    date: &str,
    amz_headers: &str,
    resource: &str,
) -> String {
    format!("{method}\n{content_md5}\n{content_type}\n{date}\n{amz_headers}{resource}")
}

/// Base64 HMAC-SHA1 of `string_to_sign` with `secret`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_documentation_examples() {
        // Goal: the examples of S3's "Signing and authenticating REST requests" (access key
        // AKIAIOSFODNN7EXAMPLE) give the documented strings to sign and signatures.
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let get = string_to_sign(
            "GET",
            "",
            "",
            "Tue, 27 Mar 2007 19:36:42 +0000",
            "",
            &canonicalized_resource("/awsexamplebucket1/photos/puppy.jpg", ""),
        );
        assert_eq!(
            get,
            "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg"
        );
        assert_eq!(sign(secret, &get), "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=");
        let list = string_to_sign(
            "GET",
            "",
            "",
            "Tue, 27 Mar 2007 19:42:41 +0000",
            "",
            &canonicalized_resource(
                "/awsexamplebucket1/",
                "prefix=photos&max-keys=50&marker=puppy",
            ),
        );
        assert_eq!(sign(secret, &list), "m0WP8eCtspQl5Ahe6L1SozdX9YA=");
        let acl = string_to_sign(
            "GET",
            "",
            "",
            "Tue, 27 Mar 2007 19:44:46 +0000",
            "",
            &canonicalized_resource("/awsexamplebucket1/", "acl"),
        );
        assert_eq!(
            acl,
            "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/awsexamplebucket1/?acl"
        );
        assert_eq!(sign(secret, &acl), "82ZHiFIjc+WbcwFKGUVEQspPn+0=");
    }

    #[test]
    fn amz_headers_and_subresources_canonicalize() {
        // Goal: x-amz-* headers are lower-cased, sorted, trimmed and joined; sub-resources are
        // sorted, decoded, and other query parameters left out.
        let headers = [
            (
                "X-Amz-Meta-ReviewedBy".to_string(),
                "joe@example.com".to_string(),
            ),
            (
                "x-amz-meta-reviewedby".to_string(),
                "jane@example.com".to_string(),
            ),
            ("x-amz-acl".to_string(), "public-read".to_string()),
            ("Content-Type".to_string(), "text/plain".to_string()),
            ("x-amz-meta-spaced".to_string(), " a  b ".to_string()),
        ];
        assert_eq!(
            canonicalized_amz_headers(
                headers
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
            ),
            "x-amz-acl:public-read\nx-amz-meta-reviewedby:joe@example.com,jane@example.com\nx-amz-meta-spaced:a  b\n"
        );
        assert_eq!(
            canonicalized_resource(
                "/b/k",
                "uploadId=a%2Fb&partNumber=2&x-id=PutObject&response-content-type=text%2Fplain"
            ),
            "/b/k?partNumber=2&response-content-type=text/plain&uploadId=a/b"
        );
    }
}
