//! PostObject: a browser upload — an HTML form POSTed to a bucket with a signed policy (checked by
//! `auth::form`), its conditions checked before the file part streams to disk like a PUT body. A
//! typed unit (`S3Operation`).

use std::rc::Rc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::http::Response;
use crate::limits::{
    KEY_BYTES_MAX, POST_FORM_FIELDS_BYTES_MAX, POST_FORM_FIELD_COUNT_MAX, PUT_OBJECT_BYTES_MAX,
    USER_METADATA_BYTES_MAX,
};
use crate::meta::PutCondition;
use crate::policy::Decision;
use crate::s3::access::{AclRequest, CannedAcl, Identity, Permission, Requester};
use crate::s3::auth::form::{field, FormSignature};
use crate::s3::auth::sigv4;
use crate::s3::authorization::{decide, decide_with, post_conditions};
use crate::s3::conditions::quoted_etag;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::form::{boundary, FormReader, PartHead};
use crate::s3::grants::{refuse_public_acl, resolve_acl};
use crate::s3::handler::{FromRequest, IntoResponse, S3Operation};
use crate::s3::object_lock::{check_requested_lock, requested_lock};
use crate::s3::object_write::{
    commit_object, decode_checksum, storage_class_header, Destination, ObjectAttributes,
    STORAGE_CLASS_HEADER,
};
use crate::s3::payload::PayloadReader;
use crate::s3::post_policy::{decode_policy, PostPolicy};
use crate::s3::request::{Call, S3Request};
use crate::s3::resource::authorized_bucket;
use crate::s3::sosapi::refuse_sosapi_write;
use crate::s3::sse;
use crate::s3::tagging::{encode as encode_tags, OBJECT_TAG_COUNT_MAX};
use crate::s3::unsupported::refusal;
use crate::s3::xml::documents::PostResponse;
use crate::s3::xml::parse_tagging;
use crate::s3::xml::XmlDocument;
use crate::s3::{time, S3Context};
use crate::storage::checksum::{ChecksumAlgorithm, StoredChecksum};
use crate::storage::encryption::Sealing;
use crate::storage::{ObjectWriter, SealedObject};

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

/// The form's multipart boundary (from `Content-Type: multipart/form-data; boundary=…`).
pub struct PostObjectInput {
    boundary: String,
    /// The request came over TLS (an SSE-C key in the form must).
    secure: bool,
}

impl FromRequest<'_> for PostObjectInput {
    fn parse(request: &S3Request<'_>) -> S3Result<Self> {
        let not_a_form = "Bucket POST must be of the enclosure-type multipart/form-data";
        let boundary = request
            .head
            .header("content-type")
            .and_then(boundary)
            .ok_or_else(|| {
                S3Error::with_message(S3ErrorCode::PreconditionFailed, not_a_form)
                    .field("Condition", not_a_form)
            })?;
        Ok(PostObjectInput {
            boundary,
            secure: request.head.secure,
        })
    }
}

/// Who signed the form (checking the signature over its policy) and the decoded policy; `None`
/// for an anonymous form.
async fn form_signer(
    context: &S3Context,
    fields: &[(String, String)],
) -> S3Result<Option<(Rc<Identity>, PostPolicy)>> {
    let Some(signature) =
        FormSignature::from_fields(fields, &context.config.region, context.config.region_any)?
    else {
        return Ok(None);
    };
    let policy_text = field(fields, "policy")
        .ok_or_else(|| invalid_argument("Bucket POST must contain a field named 'policy'."))?;
    let user = context
        .signing_user(signature.access_key())
        .await?
        .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidAccessKeyId))?;
    if !signature.verify(user.secret.expose(), policy_text) {
        return Err(S3Error::new(S3ErrorCode::SignatureDoesNotMatch));
    }
    Ok(Some((user.identity.clone(), decode_policy(policy_text)?)))
}

/// The form fields before the file part (names lower-case, bounded in count and bytes), and the
/// file part itself.
async fn read_fields(
    form: &mut FormReader<'_, '_, '_>,
) -> S3Result<(Vec<(String, String)>, PartHead)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut fields_bytes = 0usize;
    loop {
        let Some(part) = form.next_part().await? else {
            return Err(invalid_argument(
                "POST requires exactly one file upload per request.",
            ));
        };
        let name = part.name.to_ascii_lowercase();
        if name == "file" {
            return Ok((fields, part));
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
    }
}

/// The object's key: the `key` field with `${filename}` replaced (the field is updated, so the
/// policy's conditions see the final key).
fn object_key(fields: &mut [(String, String)], file: &PartHead) -> S3Result<String> {
    let template = field(fields, "key")
        .ok_or_else(|| invalid_argument("Bucket POST must contain a field named 'key'."))?;
    let key = template.replace("${filename}", file.filename.as_deref().unwrap_or_default());
    if key.is_empty() || key.len() > KEY_BYTES_MAX {
        return Err(S3Error::new(S3ErrorCode::KeyTooLongError));
    }
    if let Some((_, value)) = fields.iter_mut().find(|(name, _)| name == "key") {
        value.clone_from(&key);
    }
    Ok(key)
}

/// Who writes (the form's signer, or anonymous) and the size range its policy allows, after the
/// policy's conditions are checked against the fields (with the addressed bucket).
async fn form_writer(
    context: &S3Context,
    call: &Call<'_>,
    fields: &[(String, String)],
) -> S3Result<(Requester, Option<(u64, u64)>)> {
    let signer = form_signer(context, fields).await?;
    let mut policy_fields = fields.to_vec();
    policy_fields.retain(|(name, _)| name != "bucket");
    policy_fields.push(("bucket".to_string(), call.bucket.to_string()));
    let writer = match &signer {
        Some((identity, policy)) => {
            policy.check_fields(&policy_fields, time::now_ms() / 1000)?;
            (Requester::User(identity.clone()), policy.length_range())
        }
        None => (Requester::Anonymous, None),
    };
    if field(fields, "bucket").is_some_and(|bucket| bucket != call.bucket) {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    }
    Ok(writer)
}

/// The stored headers the fields set: `x-amz-meta-*` (at most 2 KiB), `STORED_FIELDS` and the
/// storage class.
/// Whether `byte` may appear in an HTTP header name (RFC 9110 §5.6.2 `tchar`).
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn stored_fields(fields: &[(String, String)]) -> S3Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    let mut metadata_bytes = 0usize;
    for (name, value) in fields {
        let stored = name.starts_with("x-amz-meta-")
            || STORED_FIELDS.contains(&name.as_str())
            || name == STORAGE_CLASS_HEADER;
        // A form value is free text; a header never holds a line break, and a stored one with
        // a line break would read back as more headers. A field's name becomes a header name:
        // it must be one (an RFC 9110 token), or a bare LF inside it would store a header of the
        // sender's choosing.
        if stored && value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(invalid_argument(
                "Form fields stored as object headers may not contain control characters.",
            ));
        }
        if stored && !name.bytes().all(is_token_byte) {
            return Err(invalid_argument(
                "Form fields stored as object headers must have valid header names.",
            ));
        }
        if let Some(suffix) = name.strip_prefix("x-amz-meta-") {
            metadata_bytes += suffix.len() + value.len();
            headers.push((name.clone(), value.clone()));
        } else if STORED_FIELDS.contains(&name.as_str()) {
            headers.push((name.clone(), value.clone()));
        } else if name == STORAGE_CLASS_HEADER {
            headers.extend(storage_class_header(value));
        }
    }
    if metadata_bytes > USER_METADATA_BYTES_MAX {
        return Err(S3Error::new(S3ErrorCode::MetadataTooLarge));
    }
    Ok(headers)
}

/// The stored list of the `acl` field (a canned ACL only, as S3's forms allow).
async fn form_acl(
    context: &S3Context,
    fields: &[(String, String)],
    writer: &Requester,
    bucket_owner: &str,
) -> S3Result<Option<String>> {
    let Some(text) = field(fields, "acl") else {
        return Ok(None);
    };
    let canned =
        CannedAcl::parse(text.trim()).ok_or_else(|| invalid_argument("Invalid canned ACL"))?;
    let owner = context.owner_identity(writer.access_key()).await?;
    let bucket_owner = context.owner_identity(bucket_owner).await?;
    resolve_acl(context, AclRequest::Canned(canned), &owner, &bucket_owner).await
}

/// Streams the file part into a new object, within the policy's size range, and checks the
/// checksum a field names; returns it sealed with its stored checksum. The rest of the body
/// (fields after the file, which S3 ignores) is drained so the connection stays usable.
async fn receive_file(
    context: &S3Context,
    form: &mut FormReader<'_, '_, '_>,
    fields: &[(String, String)],
    length_range: Option<(u64, u64)>,
    sealing: Option<Sealing>,
) -> S3Result<(SealedObject, Option<String>)> {
    let expected = ChecksumAlgorithm::ALL
        .iter()
        .find_map(|algorithm| {
            field(fields, algorithm.header_name()).map(|value| (*algorithm, value))
        })
        .map(|(algorithm, value)| Ok::<_, S3Error>((algorithm, decode_checksum(algorithm, value)?)))
        .transpose()?;
    let bytes_max = PUT_OBJECT_BYTES_MAX.min(context.config.max_object_size_bytes);
    let mut writer = ObjectWriter::create(
        context.layout.clone(),
        expected.as_ref().map(|(algorithm, _)| *algorithm),
        Destination::Object.placement(context, None),
        sealing,
        None,
    )
    .await?;
    while let Some(piece) = form.next_piece().await? {
        writer.write_all(piece).await?;
        if writer.size_bytes() > bytes_max {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
        }
    }
    check_length(writer.size_bytes(), length_range)?;
    let sealed = writer.seal().await?;
    let checksum = match (&expected, &sealed.digests().checksum) {
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
            let stored = StoredChecksum {
                algorithm: *algorithm,
                full_object: true,
                value: BASE64.encode(actual),
            };
            Some(stored.encode())
        }
        _ => None,
    };
    while form.next_part().await?.is_some() {
        while form.next_piece().await?.is_some() {}
    }
    Ok((sealed, checksum))
}

/// EntityTooLarge / EntityTooSmall when `size` is outside the policy's `content-length-range`.
fn check_length(size: u64, length_range: Option<(u64, u64)>) -> S3Result<()> {
    let Some((min, max)) = length_range else {
        return Ok(());
    };
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
    Ok(())
}

/// How a form upload answers (`success_action_redirect` or `success_action_status`).
pub enum PostAnswer {
    /// 303 to the redirect URL with bucket, key and ETag appended.
    Redirect(String),
    /// 200, 201 with a `PostResponse` document, or 204 (the default).
    Status(u16),
}

/// PostObject's answer.
pub struct PostObjectOutput {
    answer: PostAnswer,
    document: PostResponse,
    /// The new version's id in a versioning-enabled bucket.
    version_id: Option<String>,
}

impl IntoResponse for PostObjectOutput {
    fn into_response(self) -> Response {
        let etag = self.document.etag.clone();
        let mut response = match self.answer {
            PostAnswer::Redirect(url) => {
                let mut response = Response::empty(303);
                response.head.header("Location", url);
                response
            }
            PostAnswer::Status(201) => {
                let mut response = Response::xml(self.document.render());
                response.head.status = 201;
                response.head.header("Location", &self.document.location);
                response
            }
            PostAnswer::Status(status) => {
                let mut response = Response::empty(status);
                response.head.header("Location", &self.document.location);
                response
            }
        };
        response.head.header("ETag", etag);
        if let Some(version_id) = self.version_id {
            response.head.header("x-amz-version-id", version_id);
        }
        response
    }
}

/// The answer the fields ask for, for the object stored at `bucket`/`key` with `etag` (quoted).
fn answer(fields: &[(String, String)], bucket: &str, key: &str, etag: &str) -> PostAnswer {
    let redirect = field(fields, "success_action_redirect").or(field(fields, "redirect"));
    match redirect.filter(|url| !url.is_empty()) {
        Some(url) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            PostAnswer::Redirect(format!(
                "{url}{separator}bucket={}&key={}&etag={}",
                sigv4::uri_encode(bucket, false),
                sigv4::uri_encode(key, false),
                sigv4::uri_encode(etag, false)
            ))
        }
        None => match field(fields, "success_action_status") {
            Some("200") => PostAnswer::Status(200),
            Some("201") => PostAnswer::Status(201),
            _ => PostAnswer::Status(204),
        },
    }
}

/// PostObject.
pub struct PostObject;

impl S3Operation for PostObject {
    type Input<'r> = PostObjectInput;
    type Output = PostObjectOutput;

    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        mut payload: PayloadReader<'_, '_>,
    ) -> S3Result<PostObjectOutput> {
        let mut form = FormReader::new(&mut payload, &input.boundary);
        let (mut fields, file) = read_fields(&mut form).await?;
        // Form fields ask for what headers ask for: refused alike, before anything is stored.
        for (name, value) in &fields {
            if let Some(error) = refusal("PostObject", name, value) {
                return Err(error);
            }
        }
        let key = object_key(&mut fields, &file)?;
        let (requester, length_range) = form_writer(context, &call, &fields).await?;
        // The upload is the form signer's write of the form's key.
        let mut upload = Call {
            key: &key,
            requester: &requester,
            ..call
        };
        // The bucket's policy on this signer writing this key (decided here: neither is known
        // before the form is read).
        if let Some(bucket) = context.bucket(call.bucket).await? {
            let decision = match call.conditions {
                Some(base) if bucket.policy.is_some() => {
                    // The form's signer and fields, not the unsigned HTTP request's.
                    let tags = field(&fields, "tagging")
                        .and_then(|text| parse_tagging(text.as_bytes(), OBJECT_TAG_COUNT_MAX).ok())
                        .unwrap_or_default();
                    let conditions = post_conditions(
                        base,
                        &requester,
                        |name| field(&fields, name).map(str::to_string),
                        &tags,
                    );
                    decide(&bucket, &requester, "PutObject", Some(&key), &conditions)
                }
                other => decide_with(&bucket, &requester, "PutObject", Some(&key), other),
            };
            match decision {
                Decision::Deny => return Err(S3Error::new(S3ErrorCode::AccessDenied)),
                Decision::Allow => upload.authorization.policy_allows = true,
                Decision::NoOpinion => {}
            }
        }
        let bucket = authorized_bucket(context, &upload, Permission::Write).await?;
        // The form's encryption fields, as PutObject's headers (and the bucket's default).
        let encryption = sse::encryption_for_write(
            &context.config,
            sse::requested_encryption_from(|name| field(&fields, name))?,
            input.secure,
            &bucket,
            &key,
        )?;
        let lock = requested_lock(|name| field(&fields, name))?;
        // POST carries its tags as a `<Tagging>` document in the `tagging` field.
        let tags = match field(&fields, "tagging").filter(|text| !text.trim().is_empty()) {
            Some(text) => encode_tags(&parse_tagging(text.as_bytes(), OBJECT_TAG_COUNT_MAX)?),
            None => None,
        };
        refuse_sosapi_write(&key)?;
        check_requested_lock(context, &upload, &bucket, &lock, false)?;
        let acl = form_acl(context, &fields, &requester, &bucket.owner).await?;
        refuse_public_acl(&upload, acl.as_deref())?;
        let headers = stored_fields(&fields)?;
        let sealing = encryption
            .as_ref()
            .map(|encryption| Sealing::Object(encryption.data_key.clone()));
        let (sealed, checksum) =
            receive_file(context, &mut form, &fields, length_range, sealing).await?;
        let attributes = ObjectAttributes {
            content_type: field(&fields, "content-type")
                .map(str::to_string)
                .or(file.content_type),
            headers,
            checksum,
            acl,
            lock,
            tags,
            encryption,
        };
        let record =
            commit_object(context, &upload, sealed, attributes, PutCondition::None).await?;
        let etag = quoted_etag(&record.etag);
        Ok(PostObjectOutput {
            version_id: record.version_id.clone(),
            answer: answer(&fields, call.bucket, &key, &etag),
            document: PostResponse {
                location: format!("/{}/{}", call.bucket, crate::s3::path::url_encode_key(&key)),
                bucket: call.bucket.to_string(),
                key,
                etag,
            },
        })
    }
}
