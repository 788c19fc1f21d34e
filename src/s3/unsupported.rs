//! Requests that ask for a protection or a behaviour ringstore does not give are refused with
//! S3's error, never silently ignored: one table of request headers (and the POST-form fields
//! that mirror them), checked for every request before its operation runs. SECURITY.md's table
//! "Headers ringstore refuses" says the same, and `tests/unsupported_headers.rs` walks it.

use super::error::{S3Error, S3ErrorCode};
use crate::http::RequestHead;

// Operations are named by their AWS names (checked against `Operation::NAMES` in the tests), so
// that handlers (POST object) can use this table without a circle through the operation table.

/// Operations that create an object (and its metadata) from a request's headers.
const OBJECT_WRITES: &[&str] = &[
    "PutObject",
    "CopyObject",
    "CreateMultipartUpload",
    "PostObject",
];

/// The storage classes an object may carry here: every class S3 reads back at once (no restore),
/// kept as a label and returned on GET/HEAD, in listings and attributes; the bytes stay on the
/// same local disk whatever the label. The archive classes (GLACIER, DEEP_ARCHIVE), whose objects
/// S3 serves only after a restore, and the ones tied to other hardware stay refused (501).
pub const STORED_STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
];

/// Storage classes S3 defines (S3 API Reference, PutObject `x-amz-storage-class`); tier names
/// may not take one of them, so the list lives with the tier names' rules.
use crate::tier::spec::AWS_STORAGE_CLASSES as STORAGE_CLASSES;

/// Which operations a rule covers.
enum Scope {
    /// Every operation (a header no operation here honours).
    Every,
    /// Only these (AWS operation names).
    Only(&'static [&'static str]),
    /// Every operation but these (the ones that implement the header).
    AllBut(&'static [&'static str]),
}

/// Operations that honour `x-amz-server-side-encryption: AES256` (SSE-S3; `s3::sse`).
const SSE_S3_OPERATIONS: &[&str] = &[
    "PutObject",
    "CopyObject",
    "CreateMultipartUpload",
    "PostObject",
];
/// Reads, which S3 answers 400 when they carry `x-amz-server-side-encryption` (a read has no
/// encryption to choose).
const READS: &[&str] = &["GetObject", "HeadObject"];
/// Operations that honour the SSE-C headers (`s3::sse`).
const SSE_C_OPERATIONS: &[&str] = &[
    "PutObject",
    "GetObject",
    "HeadObject",
    "GetObjectAttributes",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
    "PostObject",
];
/// Operations that honour the copy source's SSE-C headers.
const COPY_SOURCE_SSE_C_OPERATIONS: &[&str] = &["CopyObject", "UploadPartCopy"];

/// Which values of a header ask for something ringstore does not do.
enum Values {
    /// Any value.
    Any,
    /// Any value but these (compared case-insensitively): the ones asking for nothing more than
    /// ringstore does.
    AllBut(&'static [&'static str]),
}

/// How ringstore answers.
#[derive(Clone, Copy)]
enum Answer {
    /// 501 NotImplemented, naming the feature.
    NotImplemented(&'static str),
    /// `x-amz-storage-class`: 501 for a class S3 defines, 400 InvalidStorageClass otherwise.
    StorageClass,
    /// `x-amz-tagging-directive`: 400 InvalidArgument for one other than COPY or REPLACE.
    TaggingDirective,
    /// `x-amz-server-side-encryption` where it chooses nothing: 400 InvalidArgument on a read
    /// (as S3 answers), 501 elsewhere.
    ServerSideEncryption,
}

/// One header ringstore refuses.
struct Rule {
    /// Lower-case header name (a POST form field of the same name is refused alike).
    name: &'static str,
    values: Values,
    scope: Scope,
    answer: Answer,
}

const SSE: Answer = Answer::NotImplemented("Server-side encryption with KMS keys (SSE-KMS)");
const SSE_C: Answer =
    Answer::NotImplemented("Server-side encryption with customer keys (SSE-C) on this operation");
/// Conditions on a copy's destination, and If-None-Match on a delete (which S3 does not define).
const CONDITIONAL_COPY: Answer = Answer::NotImplemented(
    "If-None-Match on DeleteObject, and conditions on a CopyObject destination,",
);

#[rustfmt::skip]
const RULES: &[Rule] = &[
    Rule { name: "x-amz-server-side-encryption", values: Values::Any, scope: Scope::AllBut(SSE_S3_OPERATIONS), answer: Answer::ServerSideEncryption },
    Rule { name: "x-amz-server-side-encryption-aws-kms-key-id", values: Values::Any, scope: Scope::Every, answer: SSE },
    Rule { name: "x-amz-server-side-encryption-context", values: Values::Any, scope: Scope::Every, answer: SSE },
    Rule { name: "x-amz-server-side-encryption-bucket-key-enabled", values: Values::Any, scope: Scope::Every, answer: SSE },
    Rule { name: "x-amz-server-side-encryption-customer-algorithm", values: Values::Any, scope: Scope::AllBut(SSE_C_OPERATIONS), answer: SSE_C },
    Rule { name: "x-amz-server-side-encryption-customer-key", values: Values::Any, scope: Scope::AllBut(SSE_C_OPERATIONS), answer: SSE_C },
    Rule { name: "x-amz-server-side-encryption-customer-key-md5", values: Values::Any, scope: Scope::AllBut(SSE_C_OPERATIONS), answer: SSE_C },
    Rule { name: "x-amz-copy-source-server-side-encryption-customer-algorithm", values: Values::Any, scope: Scope::AllBut(COPY_SOURCE_SSE_C_OPERATIONS), answer: SSE_C },
    Rule { name: "x-amz-copy-source-server-side-encryption-customer-key", values: Values::Any, scope: Scope::AllBut(COPY_SOURCE_SSE_C_OPERATIONS), answer: SSE_C },
    Rule { name: "x-amz-copy-source-server-side-encryption-customer-key-md5", values: Values::Any, scope: Scope::AllBut(COPY_SOURCE_SSE_C_OPERATIONS), answer: SSE_C },
    Rule { name: "x-amz-object-ownership", values: Values::AllBut(&["ObjectWriter"]), scope: Scope::Only(&["CreateBucket"]), answer: Answer::NotImplemented("Object ownership other than ObjectWriter") },
    Rule { name: "x-amz-website-redirect-location", values: Values::Any, scope: Scope::Only(OBJECT_WRITES), answer: Answer::NotImplemented("Website redirects") },
    Rule { name: "x-amz-tagging-directive", values: Values::AllBut(&["COPY", "REPLACE"]), scope: Scope::Only(&["CopyObject"]), answer: Answer::TaggingDirective },
    Rule { name: "x-amz-storage-class", values: Values::AllBut(STORED_STORAGE_CLASSES), scope: Scope::Only(OBJECT_WRITES), answer: Answer::StorageClass },
    Rule { name: "x-amz-mfa", values: Values::Any, scope: Scope::Every, answer: Answer::NotImplemented("MFA Delete") },
    Rule { name: "if-match", values: Values::Any, scope: Scope::Only(&["CopyObject"]), answer: CONDITIONAL_COPY },
    Rule { name: "if-none-match", values: Values::Any, scope: Scope::Only(&["DeleteObject", "CopyObject"]), answer: CONDITIONAL_COPY },
    Rule { name: "x-amz-write-offset-bytes", values: Values::Any, scope: Scope::Every, answer: Answer::NotImplemented("Appending to objects") },
];

impl Rule {
    fn covers(&self, operation: &str) -> bool {
        match self.scope {
            Scope::Every => true,
            Scope::Only(operations) => operations.contains(&operation),
            Scope::AllBut(operations) => !operations.contains(&operation),
        }
    }

    fn asks(&self, value: &str) -> bool {
        match self.values {
            Values::Any => true,
            Values::AllBut(accepted) => !accepted
                .iter()
                .any(|accepted| accepted.eq_ignore_ascii_case(value.trim())),
        }
    }

    fn error(&self, operation: &str, value: &str) -> S3Error {
        let not_implemented = |feature: &str| {
            S3Error::with_message(
                S3ErrorCode::NotImplemented,
                format!(
                    "{feature} is not implemented by ringstore yet; this request was refused, not ignored ({}).",
                    self.name
                ),
            )
        };
        match self.answer {
            Answer::ServerSideEncryption if READS.contains(&operation) => S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!("{} header is not supported for this operation.", self.name),
            )
            .field("ArgumentName", self.name)
            .field("ArgumentValue", value.to_string()),
            Answer::ServerSideEncryption => not_implemented("Server-side encryption on this operation"),
            Answer::NotImplemented(feature) => not_implemented(feature),
            Answer::StorageClass if STORAGE_CLASSES.contains(&value.trim()) => {
                S3Error::with_message(
                    S3ErrorCode::NotImplemented,
                    format!(
                        "Storage class {} is not implemented by ringstore yet (it needs a restore before a read).",
                        value.trim()
                    ),
                )
            }
            Answer::StorageClass => S3Error::new(S3ErrorCode::InvalidStorageClass)
                .field("StorageClassRequested", value.to_string()),
            Answer::TaggingDirective => {
                S3Error::with_message(S3ErrorCode::InvalidArgument, "Unknown tagging directive.")
                    .field("ArgumentName", self.name)
                    .field("ArgumentValue", value.to_string())
            }
        }
    }
}

/// S3's error when header (or POST-form field) `name: value` asks `operation` (its AWS name) for
/// something ringstore does not do; `name` lower-case.
pub fn refusal(operation: &str, name: &str, value: &str) -> Option<S3Error> {
    RULES
        .iter()
        .find(|rule| rule.name == name && rule.covers(operation) && rule.asks(value))
        .map(|rule| rule.error(operation, value))
}

/// The first refusal a header of `head` earns on `operation` (checked before the operation
/// runs, so nothing is read or stored).
pub fn check_headers(operation: &str, head: &RequestHead) -> Result<(), S3Error> {
    for (name, value) in head.headers() {
        // Every rule names an `x-amz-` or `if-` header: one prefix test skips the rest.
        if !(name.starts_with("x-amz-") || name.starts_with("if-")) {
            continue;
        }
        if let Some(error) = refusal(operation, name, value) {
            return Err(error);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::Operation;

    const PUT_OBJECT: &str = "PutObject";
    const COPY_OBJECT: &str = "CopyObject";
    const CREATE_BUCKET: &str = "CreateBucket";
    const GET_OBJECT: &str = "GetObject";
    const DELETE_OBJECT: &str = "DeleteObject";

    #[test]
    fn scopes_name_real_operations() {
        // Goal: every operation a rule names is one the operation table declares.
        for rule in RULES {
            if let Scope::Only(operations) | Scope::AllBut(operations) = rule.scope {
                for operation in operations {
                    assert!(Operation::NAMES.contains(operation), "{operation}");
                }
            }
        }
    }

    #[test]
    fn rules_name_lower_case_headers_once_per_scope() {
        // Goal: the table can match (header names arrive lower-case) and no rule shadows another.
        for (index, rule) in RULES.iter().enumerate() {
            assert_eq!(rule.name, rule.name.to_ascii_lowercase());
            assert!(
                !RULES[..index].iter().any(|other| other.name == rule.name),
                "{} twice",
                rule.name
            );
        }
    }

    #[test]
    fn values_that_ask_for_nothing_more_pass() {
        // Goal: STANDARD, COPY, ObjectWriter and an empty tag set are what ringstore does anyway,
        // so they pass; everything else is refused with S3's error. Object Lock headers are the
        // operations' own now (s3::object_lock), never refused here.
        assert!(refusal(PUT_OBJECT, "x-amz-storage-class", "STANDARD").is_none());
        assert!(refusal(PUT_OBJECT, "x-amz-storage-class", "standard").is_none());
        assert!(refusal(PUT_OBJECT, "x-amz-storage-class", "STANDARD_IA").is_none());
        assert!(refusal(PUT_OBJECT, "x-amz-storage-class", "GLACIER_IR").is_none());
        let glacier = refusal(PUT_OBJECT, "x-amz-storage-class", "GLACIER").unwrap();
        assert_eq!(glacier.code, S3ErrorCode::NotImplemented);
        let bogus = refusal(PUT_OBJECT, "x-amz-storage-class", "FAST").unwrap();
        assert_eq!(bogus.code, S3ErrorCode::InvalidStorageClass);
        assert!(refusal(COPY_OBJECT, "x-amz-tagging-directive", "COPY").is_none());
        assert_eq!(
            refusal(COPY_OBJECT, "x-amz-tagging-directive", "MERGE")
                .unwrap()
                .code,
            S3ErrorCode::InvalidArgument
        );
        assert!(refusal(CREATE_BUCKET, "x-amz-bucket-object-lock-enabled", "false").is_none());
        assert!(refusal(CREATE_BUCKET, "x-amz-bucket-object-lock-enabled", "true").is_none());
        assert!(refusal(PUT_OBJECT, "x-amz-object-lock-mode", "COMPLIANCE").is_none());
        assert!(refusal(PUT_OBJECT, "x-amz-tagging", "").is_none());
        assert!(refusal(GET_OBJECT, "if-match", "\"e\"").is_none());
        assert!(refusal(DELETE_OBJECT, "if-match", "\"e\"").is_none());
        assert!(refusal(COPY_OBJECT, "if-match", "\"e\"").is_some());
    }
}
