//! S3 error codes, their HTTP statuses and messages: the one place an error becomes an S3 answer.

use std::borrow::Cow;

/// An S3 error code, spelled exactly as AWS spells it (AWS S3 API Reference, "Error responses").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum S3ErrorCode {
    AccessDenied,
    AccessForbidden,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    BadDigest,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    EntityTooLarge,
    EntityTooSmall,
    IllegalVersioningConfigurationException,
    IncompleteBody,
    InternalError,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidBucketName,
    InvalidBucketState,
    InvalidRetentionPeriod,
    InvalidDigest,
    InvalidEncryptionAlgorithmError,
    InvalidRequest,
    InvalidStorageClass,
    InvalidTag,
    InvalidLocationConstraint,
    InvalidPart,
    InvalidPartNumber,
    InvalidPartOrder,
    InvalidRange,
    InvalidPolicyDocument,
    KeyTooLongError,
    MalformedACLError,
    MalformedPOSTRequest,
    MalformedXML,
    MetadataTooLarge,
    MethodNotAllowed,
    MissingContentLength,
    MissingSecurityHeader,
    NoSuchBucket,
    NoSuchKey,
    NoSuchObjectLockConfiguration,
    NoSuchTagSet,
    NoSuchCORSConfiguration,
    NoSuchLifecycleConfiguration,
    NoSuchBucketPolicy,
    NoSuchPublicAccessBlockConfiguration,
    MalformedPolicy,
    ObjectLockConfigurationNotFoundError,
    NoSuchUpload,
    NoSuchVersion,
    NotImplemented,
    PreconditionFailed,
    /// Not an S3 code (S3 has no bucket quotas): a write that would take its bucket beyond the
    /// quota set through the admin API. 403, like MinIO's `XMinioAdminBucketQuotaExceeded`.
    QuotaExceeded,
    RequestTimeout,
    RequestTimeTooSkewed,
    ServiceUnavailable,
    ServerSideEncryptionConfigurationNotFoundError,
    SignatureDoesNotMatch,
    SlowDown,
    TooManyBuckets,
    UnexpectedContent,
    UnresolvableGrantByEmailAddress,
    XAmzContentSHA256Mismatch,
    /// Not an S3 code: a request S3 would reject at its HTTP layer.
    BadRequest,
}

impl S3ErrorCode {
    /// The code as it appears in `<Code>`.
    pub fn as_str(self) -> &'static str {
        use S3ErrorCode::*;
        match self {
            AccessDenied => "AccessDenied",
            AccessForbidden => "AccessForbidden",
            AuthorizationHeaderMalformed => "AuthorizationHeaderMalformed",
            AuthorizationQueryParametersError => "AuthorizationQueryParametersError",
            BadDigest => "BadDigest",
            BucketAlreadyExists => "BucketAlreadyExists",
            BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
            BucketNotEmpty => "BucketNotEmpty",
            EntityTooLarge => "EntityTooLarge",
            EntityTooSmall => "EntityTooSmall",
            InvalidPart => "InvalidPart",
            InvalidPartNumber => "InvalidPartNumber",
            InvalidPartOrder => "InvalidPartOrder",
            NoSuchUpload => "NoSuchUpload",
            IncompleteBody => "IncompleteBody",
            InternalError => "InternalError",
            InvalidAccessKeyId => "InvalidAccessKeyId",
            InvalidArgument => "InvalidArgument",
            InvalidBucketName => "InvalidBucketName",
            InvalidDigest => "InvalidDigest",
            InvalidEncryptionAlgorithmError => "InvalidEncryptionAlgorithmError",
            InvalidRequest => "InvalidRequest",
            InvalidStorageClass => "InvalidStorageClass",
            InvalidLocationConstraint => "InvalidLocationConstraint",
            InvalidRange => "InvalidRange",
            InvalidPolicyDocument => "InvalidPolicyDocument",
            MalformedPOSTRequest => "MalformedPOSTRequest",
            KeyTooLongError => "KeyTooLongError",
            MalformedACLError => "MalformedACLError",
            MalformedXML => "MalformedXML",
            InvalidBucketState => "InvalidBucketState",
            InvalidTag => "InvalidTag",
            NoSuchTagSet => "NoSuchTagSet",
            NoSuchCORSConfiguration => "NoSuchCORSConfiguration",
            NoSuchLifecycleConfiguration => "NoSuchLifecycleConfiguration",
            NoSuchBucketPolicy => "NoSuchBucketPolicy",
            NoSuchPublicAccessBlockConfiguration => "NoSuchPublicAccessBlockConfiguration",
            MalformedPolicy => "MalformedPolicy",
            InvalidRetentionPeriod => "InvalidRetentionPeriod",
            NoSuchObjectLockConfiguration => "NoSuchObjectLockConfiguration",
            ObjectLockConfigurationNotFoundError => "ObjectLockConfigurationNotFoundError",
            IllegalVersioningConfigurationException => "IllegalVersioningConfigurationException",
            MetadataTooLarge => "MetadataTooLarge",
            MethodNotAllowed => "MethodNotAllowed",
            MissingContentLength => "MissingContentLength",
            MissingSecurityHeader => "MissingSecurityHeader",
            NoSuchBucket => "NoSuchBucket",
            NoSuchKey => "NoSuchKey",
            NoSuchVersion => "NoSuchVersion",
            PreconditionFailed => "PreconditionFailed",
            QuotaExceeded => "QuotaExceeded",
            NotImplemented => "NotImplemented",
            RequestTimeout => "RequestTimeout",
            RequestTimeTooSkewed => "RequestTimeTooSkewed",
            ServiceUnavailable => "ServiceUnavailable",
            ServerSideEncryptionConfigurationNotFoundError => {
                "ServerSideEncryptionConfigurationNotFoundError"
            }
            SignatureDoesNotMatch => "SignatureDoesNotMatch",
            SlowDown => "SlowDown",
            TooManyBuckets => "TooManyBuckets",
            UnexpectedContent => "UnexpectedContent",
            UnresolvableGrantByEmailAddress => "UnresolvableGrantByEmailAddress",
            XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
            BadRequest => "BadRequest",
        }
    }

    /// The HTTP status S3 answers with this code.
    pub fn status(self) -> u16 {
        use S3ErrorCode::*;
        match self {
            AccessDenied
            | AccessForbidden
            | InvalidAccessKeyId
            | SignatureDoesNotMatch
            | QuotaExceeded
            | RequestTimeTooSkewed => 403,
            AuthorizationHeaderMalformed
            | AuthorizationQueryParametersError
            | BadDigest
            | EntityTooLarge
            | EntityTooSmall
            | InvalidPart
            | InvalidPartOrder
            | IncompleteBody
            | InvalidArgument
            | InvalidBucketName
            | InvalidDigest
            | InvalidEncryptionAlgorithmError
            | InvalidRequest
            | InvalidStorageClass
            | InvalidLocationConstraint
            | InvalidPolicyDocument
            | MalformedPOSTRequest
            | KeyTooLongError
            | MalformedACLError
            | MalformedXML
            | MalformedPolicy
            | InvalidRetentionPeriod
            | InvalidTag
            | IllegalVersioningConfigurationException
            | MetadataTooLarge
            | MissingSecurityHeader
            | RequestTimeout
            | TooManyBuckets
            | UnexpectedContent
            | UnresolvableGrantByEmailAddress
            | XAmzContentSHA256Mismatch
            | BadRequest => 400,
            BucketAlreadyExists | BucketAlreadyOwnedByYou | BucketNotEmpty | InvalidBucketState => {
                409
            }
            NoSuchBucket
            | NoSuchKey
            | NoSuchVersion
            | NoSuchUpload
            | NoSuchObjectLockConfiguration
            | NoSuchTagSet
            | NoSuchCORSConfiguration
            | NoSuchLifecycleConfiguration
            | NoSuchBucketPolicy
            | NoSuchPublicAccessBlockConfiguration
            | ObjectLockConfigurationNotFoundError
            | ServerSideEncryptionConfigurationNotFoundError => 404,
            PreconditionFailed => 412,
            InvalidRange | InvalidPartNumber => 416,
            MethodNotAllowed => 405,
            MissingContentLength => 411,
            InternalError => 500,
            NotImplemented => 501,
            ServiceUnavailable | SlowDown => 503,
        }
    }

    /// S3's usual message for this code.
    pub fn default_message(self) -> &'static str {
        use S3ErrorCode::*;
        match self {
            AccessDenied => "Access Denied",
            AccessForbidden => "Access Forbidden",
            AuthorizationHeaderMalformed => "The authorization header is malformed.",
            AuthorizationQueryParametersError => "Error parsing the query-string authentication parameters.",
            BadDigest => "The Content-MD5 or checksum you specified did not match what we received.",
            BucketAlreadyExists => "The requested bucket name is not available.",
            BucketAlreadyOwnedByYou => "Your previous request to create the named bucket succeeded and you already own it.",
            BucketNotEmpty => "The bucket you tried to delete is not empty",
            EntityTooLarge => "Your proposed upload exceeds the maximum allowed object size.",
            EntityTooSmall => "Your proposed upload is smaller than the minimum allowed object size.",
            InvalidPart => "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
            InvalidPartNumber => "The requested partnumber is not satisfiable",
            InvalidPartOrder => "The list of parts was not in ascending order. Parts must be ordered by part number.",
            NoSuchUpload => "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.",
            IncompleteBody => "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            InternalError => "We encountered an internal error. Please try again.",
            InvalidAccessKeyId => "The AWS Access Key Id you provided does not exist in our records.",
            InvalidArgument => "Invalid Argument",
            InvalidBucketName => "The specified bucket is not valid.",
            InvalidDigest => "The Content-MD5 you specified is not valid.",
            InvalidEncryptionAlgorithmError => "The encryption request you specified is not valid. The valid value is AES256.",
            InvalidRequest => "Invalid Request",
            InvalidStorageClass => "The storage class you specified is not valid",
            InvalidLocationConstraint => "The specified location constraint is not valid.",
            InvalidRange => "The requested range is not satisfiable",
            InvalidPolicyDocument => "The content of the form does not meet the conditions specified in the policy document.",
            MalformedPOSTRequest => "The body of your POST request is not well-formed multipart/form-data.",
            KeyTooLongError => "Your key is too long",
            MalformedACLError => "The XML you provided was not well-formed or did not validate against our published schema.",
            MalformedXML => "The XML you provided was not well-formed or did not validate against our published schema.",
            InvalidBucketState => "The request is not valid with the current state of the bucket.",
            InvalidTag => "The tag provided was not a valid tag.",
            NoSuchTagSet => "The TagSet does not exist",
            NoSuchCORSConfiguration => "The CORS configuration does not exist",
            NoSuchLifecycleConfiguration => "The lifecycle configuration does not exist",
            NoSuchBucketPolicy => "The bucket policy does not exist",
            NoSuchPublicAccessBlockConfiguration => "The public access block configuration was not found",
            MalformedPolicy => "Policy has invalid resource",
            InvalidRetentionPeriod => "The retention period must be a positive integer.",
            NoSuchObjectLockConfiguration => "The specified object does not have a ObjectLock configuration",
            ObjectLockConfigurationNotFoundError => "Object Lock configuration does not exist for this bucket",
            IllegalVersioningConfigurationException => "The versioning configuration specified in the request is invalid.",
            MetadataTooLarge => "Your metadata headers exceed the maximum allowed metadata size.",
            MethodNotAllowed => "The specified method is not allowed against this resource.",
            MissingContentLength => "You must provide the Content-Length HTTP header.",
            MissingSecurityHeader => "Your request is missing a required header.",
            NoSuchBucket => "The specified bucket does not exist",
            NoSuchKey => "The specified key does not exist.",
            NoSuchVersion => "The specified version does not exist.",
            PreconditionFailed => "At least one of the pre-conditions you specified did not hold",
            QuotaExceeded => "The bucket quota is exceeded: this write would take the bucket beyond it.",
            NotImplemented => "A header or query you provided implies functionality that is not implemented.",
            RequestTimeout => "Your socket connection to the server was not read from or written to within the timeout period.",
            RequestTimeTooSkewed => "The difference between the request time and the server's time is too large.",
            ServiceUnavailable => "Please reduce your request rate.",
            ServerSideEncryptionConfigurationNotFoundError => "The server side encryption configuration was not found",
            SignatureDoesNotMatch => "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            SlowDown => "Please reduce your request rate.",
            TooManyBuckets => "You have attempted to create more buckets than allowed",
            UnexpectedContent => "This request does not support content.",
            UnresolvableGrantByEmailAddress => "The email address you provided does not match any account on record.",
            XAmzContentSHA256Mismatch => "The provided 'x-amz-content-sha256' header does not match what was computed.",
            BadRequest => "Bad Request",
        }
    }
}

/// An S3 error ready to be rendered: a code, a message, and optional extra XML fields.
#[derive(Debug, Clone)]
pub struct S3Error {
    /// The S3 code; it decides the HTTP status.
    pub code: S3ErrorCode,
    /// Human-readable message for `<Message>`.
    pub message: Cow<'static, str>,
    /// Extra `<Name>value</Name>` fields S3 adds for some codes (e.g. `BucketName`, `Key`).
    pub fields: Vec<(&'static str, String)>,
    /// Response headers the error answer carries (e.g. `Content-Range: bytes */SIZE` on 416).
    pub headers: Vec<(&'static str, String)>,
}

impl S3Error {
    /// An error with S3's default message for `code`.
    pub fn new(code: S3ErrorCode) -> Self {
        S3Error {
            code,
            message: Cow::Borrowed(code.default_message()),
            fields: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// An error with a specific message.
    pub fn with_message(code: S3ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        S3Error {
            code,
            message: message.into(),
            fields: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds a response header to the error answer.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Adds an extra XML field to the error body.
    pub fn field(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

impl From<S3ErrorCode> for S3Error {
    fn from(code: S3ErrorCode) -> Self {
        S3Error::new(code)
    }
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for S3Error {}

/// Shorthand for results of S3 handlers.
pub type S3Result<T> = Result<T, S3Error>;

impl From<crate::http::BodyError> for S3Error {
    fn from(error: crate::http::BodyError) -> Self {
        use crate::http::BodyError;
        match error {
            BodyError::Incomplete => S3Error::new(S3ErrorCode::IncompleteBody),
            BodyError::Timeout => S3Error::new(S3ErrorCode::RequestTimeout),
            BodyError::Malformed(what) => S3Error::with_message(S3ErrorCode::BadRequest, what),
            BodyError::Io(_) => S3Error::new(S3ErrorCode::IncompleteBody),
            BodyError::ChunkSignature => S3Error::new(S3ErrorCode::SignatureDoesNotMatch),
            BodyError::TooLarge => S3Error::new(S3ErrorCode::EntityTooLarge),
        }
    }
}

impl From<crate::storage::StorageError> for S3Error {
    fn from(error: crate::storage::StorageError) -> Self {
        use crate::storage::StorageError;
        match error {
            StorageError::DiskFull => S3Error::with_message(
                S3ErrorCode::InternalError,
                "The server has no space left to store this object.",
            ),
            StorageError::Io(_) | StorageError::Poisoned => {
                // The client gets a generic InternalError; the detail is for the operator.
                tracing::error!(error = %error, "storage failure");
                S3Error::new(S3ErrorCode::InternalError)
            }
        }
    }
}

impl From<crate::meta::MetaError> for S3Error {
    fn from(error: crate::meta::MetaError) -> Self {
        use crate::meta::MetaError;
        match error {
            MetaError::QueueFull => S3Error::new(S3ErrorCode::SlowDown),
            MetaError::NoSuchBucket => S3Error::new(S3ErrorCode::NoSuchBucket),
            MetaError::BucketNotEmpty => S3Error::new(S3ErrorCode::BucketNotEmpty),
            MetaError::BucketExists { .. } => S3Error::new(S3ErrorCode::BucketAlreadyExists),
            MetaError::TooManyBuckets => S3Error::new(S3ErrorCode::TooManyBuckets),
            MetaError::PreconditionFailed => S3Error::new(S3ErrorCode::PreconditionFailed),
            MetaError::QuotaExceeded => S3Error::new(S3ErrorCode::QuotaExceeded),
            MetaError::NoSuchUpload => S3Error::new(S3ErrorCode::NoSuchUpload),
            MetaError::NoSuchVersion => S3Error::new(S3ErrorCode::NoSuchVersion),
            MetaError::ObjectLocked => S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "Access Denied because object protected by object lock.",
            ),
            MetaError::NoObjectLockConfiguration => S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Bucket is missing Object Lock Configuration",
            ),
            MetaError::InvalidBucketState => S3Error::new(S3ErrorCode::InvalidBucketState),
            MetaError::NoSuchKey => S3Error::new(S3ErrorCode::NoSuchKey),
            MetaError::BadDigest => S3Error::new(S3ErrorCode::BadDigest),
            MetaError::InvalidPart(number) => {
                S3Error::new(S3ErrorCode::InvalidPart).field("PartNumber", number.to_string())
            }
            MetaError::InvalidPartOrder => S3Error::new(S3ErrorCode::InvalidPartOrder),
            MetaError::EntityTooLarge => S3Error::new(S3ErrorCode::EntityTooLarge),
            MetaError::EntityTooSmall(number) => S3Error::new(S3ErrorCode::EntityTooSmall)
                .field("PartNumber", number.to_string())
                .field("MinSizeAllowed", crate::limits::PART_BYTES_MIN.to_string()),
            MetaError::Closed | MetaError::Sqlite(_) => {
                tracing::error!(error = %error, "metadata failure");
                S3Error::new(S3ErrorCode::InternalError)
            }
        }
    }
}
