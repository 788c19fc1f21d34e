//! PostObject: a browser upload — an HTML form POSTed to a bucket with a signed policy (SigV4
//! `x-amz-signature` or the form-only V2 `signature`), its conditions checked before the file part
//! streams to disk like a PUT body.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};

use crate::http::Response;
use crate::limits::{
    KEY_BYTES_MAX, POST_FORM_FIELDS_BYTES_MAX, POST_FORM_FIELD_COUNT_MAX, PUT_OBJECT_BYTES_MAX,
    USER_METADATA_BYTES_MAX,
};
use crate::meta::PutCondition;
use crate::s3::access::{AclRequest, CannedAcl, Identity, Permission, Requester};
use crate::s3::auth::sigv4;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::form::{boundary, FormReader};
use crate::s3::grants::resolve_acl;
use crate::s3::object_write::{commit_object, ObjectAttributes};
use crate::s3::object_write::{decode_checksum, Destination};
use crate::s3::payload::PayloadReader;
use crate::s3::post_policy::{decode_policy, PostPolicy};
use crate::s3::request::S3Request;
use crate::s3::resource::authorized_bucket;
use crate::s3::xml::XmlBuilder;
use crate::s3::{time, S3Context};
use crate::secret::constant_time_eq;
use crate::storage::checksum::ChecksumAlgorithm;
use crate::storage::ObjectWriter;

/// Standard headers a form field may set on the object, as S3 stores them.
const STORED_FIELDS: &[&str] = &[
    "cache-control",
    "content-disposition",
    "content-encoding",
    "expires",
];

fn invalid_argument(message: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message.to_string())
}

fn field<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
    fields
        .iter()
        .find(|(field, _)| field == name)
        .map(|(_, value)| value.as_str())
}

/// How a form is signed: both sign the base64 policy text itself.
enum FormSignature {
    /// `x-amz-signature`: hex HMAC-SHA256 with the SigV4 signing key of the credential's day.
    V4 {
        access_key: String,
        date: String,
        region: String,
        signature: String,
    },
    /// `AWSAccessKeyId` + `signature`: base64 HMAC-SHA1 with the secret (the form-only V2 scheme
    /// browsers and s3-tests still use; request SigV2 stays refused).
    V2 {
        access_key: String,
        signature: String,
    },
}

impl FormSignature {
    /// The signature fields of the form; `None` for an unsigned (anonymous) form.
    fn from_fields(fields: &[(String, String)], region: &str) -> S3Result<Option<Self>> {
        if let Some(signature) = field(fields, "x-amz-signature") {
            if field(fields, "x-amz-algorithm") != Some(sigv4::ALGORITHM) {
                return Err(invalid_argument(
                    "POST requires x-amz-algorithm AWS4-HMAC-SHA256",
                ));
            }
            let credential = field(fields, "x-amz-credential")
                .ok_or_else(|| invalid_argument("POST requires the x-amz-credential field"))?;
            let (access_key, date, credential_region, service) =
                sigv4::parse_credential(credential)
                    .ok_or_else(|| invalid_argument("Error parsing the X-Amz-Credential field"))?;
            if credential_region != region || service != "s3" {
                return Err(invalid_argument(
                    "The credential scope is not this endpoint's",
                ));
            }
            return Ok(Some(FormSignature::V4 {
                access_key,
                date,
                region: credential_region,
                signature: signature.trim().to_ascii_lowercase(),
            }));
        }
        if let Some(access_key) = field(fields, "awsaccesskeyid") {
            let signature = field(fields, "signature").ok_or_else(|| {
                invalid_argument("Bucket POST must contain a field named 'Signature'.")
            })?;
            return Ok(Some(FormSignature::V2 {
                access_key: access_key.to_string(),
                signature: signature.trim().to_string(),
            }));
        }
        Ok(None)
    }

    fn access_key(&self) -> &str {
        match self {
            FormSignature::V4 { access_key, .. } | FormSignature::V2 { access_key, .. } => {
                access_key
            }
        }
    }

    /// Whether the signature over `policy` is right for `secret` (compared in constant time).
    fn verify(&self, secret: &str, policy: &str) -> bool {
        match self {
            FormSignature::V4 {
                date,
                region,
                signature,
                ..
            } => {
                let key = sigv4::derive_signing_key(secret, date, region, "s3");
                constant_time_eq(sigv4::sign(&key, policy).as_bytes(), signature.as_bytes())
            }
            FormSignature::V2 { signature, .. } => {
                let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) else {
                    return false;
                };
                mac.update(policy.as_bytes());
                let expected = BASE64.encode(mac.finalize().into_bytes());
                constant_time_eq(expected.as_bytes(), signature.as_bytes())
            }
        }
    }
}

/// Who signed the form (checking the signature over its policy) and the decoded policy; `None`
/// for an anonymous form.
async fn form_signer(
    context: &S3Context,
    fields: &[(String, String)],
) -> S3Result<Option<(Identity, PostPolicy)>> {
    let Some(signature) = FormSignature::from_fields(fields, &context.config.region)? else {
        return Ok(None);
    };
    let policy_text = field(fields, "policy")
        .ok_or_else(|| invalid_argument("Bucket POST must contain a field named 'policy'."))?;
    let user = context
        .user(signature.access_key())
        .await?
        .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidAccessKeyId))?;
    if !signature.verify(user.secret.expose(), policy_text) {
        return Err(S3Error::new(S3ErrorCode::SignatureDoesNotMatch));
    }
    Ok(Some((user.identity.clone(), decode_policy(policy_text)?)))
}

/// PostObject.
pub async fn post_object(
    context: &S3Context,
    request: &S3Request<'_>,
    mut payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let boundary = request
        .head
        .header("content-type")
        .and_then(boundary)
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::PreconditionFailed,
                "Bucket POST must be of the enclosure-type multipart/form-data",
            )
            .field(
                "Condition",
                "Bucket POST must be of the enclosure-type multipart/form-data",
            )
        })?;
    let mut form = FormReader::new(&mut payload, &boundary);
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut fields_bytes = 0usize;
    let file = loop {
        let Some(part) = form.next_part().await? else {
            return Err(invalid_argument(
                "POST requires exactly one file upload per request.",
            ));
        };
        let name = part.name.to_ascii_lowercase();
        if name == "file" {
            break part;
        }
        let budget = POST_FORM_FIELDS_BYTES_MAX.saturating_sub(fields_bytes);
        let value = form.read_value(budget).await?;
        fields_bytes += name.len() + value.len();
        if fields.len() >= POST_FORM_FIELD_COUNT_MAX {
            return Err(invalid_argument("Too many form fields"));
        }
        let value =
            String::from_utf8(value).map_err(|_| invalid_argument("Form fields must be UTF-8"))?;
        fields.push((name, value));
    };
    // The key may name the uploaded file (`${filename}`); conditions see the final key.
    let key_template = field(&fields, "key")
        .ok_or_else(|| invalid_argument("Bucket POST must contain a field named 'key'."))?;
    let key = key_template.replace("${filename}", file.filename.as_deref().unwrap_or_default());
    if key.is_empty() || key.len() > KEY_BYTES_MAX {
        return Err(S3Error::new(S3ErrorCode::KeyTooLongError));
    }
    if let Some((_, value)) = fields.iter_mut().find(|(name, _)| name == "key") {
        value.clone_from(&key);
    }
    let signer = form_signer(context, &fields).await?;
    let mut policy_fields = fields.clone();
    policy_fields.retain(|(name, _)| name != "bucket");
    policy_fields.push(("bucket".to_string(), request.bucket().to_string()));
    let (requester, length_range) = match &signer {
        Some((identity, policy)) => {
            policy.check_fields(&policy_fields, time::now_ms() / 1000)?;
            (Requester::User(identity.clone()), policy.length_range())
        }
        None => (Requester::Anonymous, None),
    };
    if field(&fields, "bucket").is_some_and(|bucket| bucket != request.bucket()) {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    }
    let target = crate::s3::path::Target {
        key: Some(key.clone()),
        ..request.target.clone()
    };
    let upload = S3Request {
        head: request.head,
        target,
        query: request.query.clone(),
        requester,
        request_id: request.request_id,
    };
    let bucket = authorized_bucket(context, &upload.call(), Permission::Write).await?;
    let acl = match field(&fields, "acl") {
        Some(text) => {
            let canned = CannedAcl::parse(text.trim())
                .ok_or_else(|| invalid_argument("Invalid canned ACL"))?;
            let owner = context
                .owner_identity(upload.requester.access_key())
                .await?;
            let bucket_owner = context.owner_identity(&bucket.owner).await?;
            resolve_acl(context, AclRequest::Canned(canned), &owner, &bucket_owner).await?
        }
        None => None,
    };
    let expected_checksum = ChecksumAlgorithm::ALL
        .iter()
        .find_map(|algorithm| {
            field(&fields, algorithm.header_name()).map(|value| (*algorithm, value))
        })
        .map(|(algorithm, value)| Ok::<_, S3Error>((algorithm, decode_checksum(algorithm, value)?)))
        .transpose()?;
    let mut headers = Vec::new();
    let mut metadata_bytes = 0usize;
    for (name, value) in &fields {
        if let Some(suffix) = name.strip_prefix("x-amz-meta-") {
            metadata_bytes += suffix.len() + value.len();
            headers.push((name.clone(), value.clone()));
        } else if STORED_FIELDS.contains(&name.as_str()) {
            headers.push((name.clone(), value.clone()));
        }
    }
    if metadata_bytes > USER_METADATA_BYTES_MAX {
        return Err(S3Error::new(S3ErrorCode::MetadataTooLarge));
    }
    let bytes_max = PUT_OBJECT_BYTES_MAX.min(context.config.max_object_size_bytes);
    let mut writer = ObjectWriter::create(
        context.layout.clone(),
        expected_checksum.as_ref().map(|(a, _)| *a),
        Destination::Object.placement(context, None),
    )
    .await?;
    while let Some(piece) = form.next_piece().await? {
        writer.write_all(piece).await?;
        if writer.size_bytes() > bytes_max {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
        }
    }
    let size = writer.size_bytes();
    if let Some((min, max)) = length_range {
        if size > max {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge)
                .field("ProposedSize", size.to_string())
                .field("MaxSizeAllowed", max.to_string()));
        }
        if size < min {
            return Err(S3Error::new(S3ErrorCode::EntityTooSmall)
                .field("ProposedSize", size.to_string())
                .field("MinSizeAllowed", min.to_string()));
        }
    }
    let sealed = writer.seal().await?;
    let checksum = match (&expected_checksum, &sealed.digests().checksum) {
        (Some((algorithm, expected)), Some((_, actual))) => {
            if expected != actual {
                return Err(S3Error::with_message(
                    S3ErrorCode::BadDigest,
                    format!(
                        "The {} you specified did not match the calculated checksum.",
                        algorithm.name()
                    ),
                ));
            }
            Some(
                crate::storage::checksum::StoredChecksum {
                    algorithm: *algorithm,
                    full_object: true,
                    value: BASE64.encode(actual),
                }
                .encode(),
            )
        }
        _ => None,
    };
    // Fields after the file part are ignored, as S3 ignores them; the rest of the body is drained
    // so the connection stays usable.
    while form.next_part().await?.is_some() {
        while form.next_piece().await?.is_some() {}
    }
    let attributes = ObjectAttributes {
        content_type: field(&fields, "content-type")
            .map(str::to_string)
            .or(file.content_type),
        headers,
        checksum,
        acl,
    };
    let record = commit_object(context, &upload, sealed, attributes, PutCondition::None).await?;
    let etag = format!("\"{}\"", record.etag);
    let location = format!(
        "/{}/{}",
        request.bucket(),
        crate::s3::path::url_encode_key(&key)
    );
    let redirect = field(&fields, "success_action_redirect").or(field(&fields, "redirect"));
    let mut response = match redirect.filter(|url| !url.is_empty()) {
        Some(url) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            let mut response = Response::empty(303);
            response.head.header(
                "Location",
                format!(
                    "{url}{separator}bucket={}&key={}&etag={}",
                    sigv4::uri_encode(request.bucket(), false),
                    sigv4::uri_encode(&key, false),
                    sigv4::uri_encode(&etag, false)
                ),
            );
            response
        }
        None => match field(&fields, "success_action_status") {
            Some("200") => Response::empty(200),
            Some("201") => {
                // S3's PostResponse carries no namespace (S3 API Reference, POST Object example).
                let mut xml = XmlBuilder::new();
                xml.open("PostResponse")
                    .element("Location", &location)
                    .element("Bucket", request.bucket())
                    .element("Key", &key)
                    .element("ETag", &etag)
                    .close("PostResponse");
                let mut response = Response::xml(xml.finish());
                response.head.status = 201;
                response
            }
            _ => Response::empty(204),
        },
    };
    response.head.header("ETag", etag);
    if response.head.status != 303 {
        response.head.header("Location", location);
    }
    Ok(response)
}
