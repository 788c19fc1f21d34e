//! The S3 actions a bucket policy may name (AWS Service Authorization Reference, "Actions,
//! resources, and condition keys for Amazon S3"), each with the resource it applies to, and the
//! `*` / `?` pattern matching IAM uses for actions, resources and `StringLike`.

/// What an action's resource is: the bucket (`arn:aws:s3:::bucket`) or an object in it
/// (`arn:aws:s3:::bucket/key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// A bucket ARN.
    Bucket,
    /// An object ARN.
    Object,
}

/// Every S3 action with a bucket or object resource, without the `s3:` prefix.
pub const S3_ACTIONS: &[(&str, ResourceKind)] = &[
    ("AbortMultipartUpload", ResourceKind::Object),
    ("BypassGovernanceRetention", ResourceKind::Object),
    ("DeleteObject", ResourceKind::Object),
    ("DeleteObjectTagging", ResourceKind::Object),
    ("DeleteObjectVersion", ResourceKind::Object),
    ("DeleteObjectVersionTagging", ResourceKind::Object),
    ("GetObject", ResourceKind::Object),
    ("GetObjectAcl", ResourceKind::Object),
    ("GetObjectAttributes", ResourceKind::Object),
    ("GetObjectLegalHold", ResourceKind::Object),
    ("GetObjectRetention", ResourceKind::Object),
    ("GetObjectTagging", ResourceKind::Object),
    ("GetObjectTorrent", ResourceKind::Object),
    ("GetObjectVersion", ResourceKind::Object),
    ("GetObjectVersionAcl", ResourceKind::Object),
    ("GetObjectVersionAttributes", ResourceKind::Object),
    ("GetObjectVersionForReplication", ResourceKind::Object),
    ("GetObjectVersionTagging", ResourceKind::Object),
    ("GetObjectVersionTorrent", ResourceKind::Object),
    ("InitiateReplication", ResourceKind::Object),
    ("ListMultipartUploadParts", ResourceKind::Object),
    ("ObjectOwnerOverrideToBucketOwner", ResourceKind::Object),
    ("PutObject", ResourceKind::Object),
    ("PutObjectAcl", ResourceKind::Object),
    ("PutObjectLegalHold", ResourceKind::Object),
    ("PutObjectRetention", ResourceKind::Object),
    ("PutObjectTagging", ResourceKind::Object),
    ("PutObjectVersionAcl", ResourceKind::Object),
    ("PutObjectVersionTagging", ResourceKind::Object),
    ("ReplicateDelete", ResourceKind::Object),
    ("ReplicateObject", ResourceKind::Object),
    ("ReplicateTags", ResourceKind::Object),
    ("RestoreObject", ResourceKind::Object),
    ("CreateBucket", ResourceKind::Bucket),
    ("DeleteBucket", ResourceKind::Bucket),
    ("DeleteBucketOwnershipControls", ResourceKind::Bucket),
    ("DeleteBucketPolicy", ResourceKind::Bucket),
    ("DeleteBucketWebsite", ResourceKind::Bucket),
    ("GetAccelerateConfiguration", ResourceKind::Bucket),
    ("GetAnalyticsConfiguration", ResourceKind::Bucket),
    ("GetBucketAcl", ResourceKind::Bucket),
    ("GetBucketCORS", ResourceKind::Bucket),
    ("GetBucketLocation", ResourceKind::Bucket),
    ("GetBucketLogging", ResourceKind::Bucket),
    ("GetBucketNotification", ResourceKind::Bucket),
    ("GetBucketObjectLockConfiguration", ResourceKind::Bucket),
    ("GetBucketOwnershipControls", ResourceKind::Bucket),
    ("GetBucketPolicy", ResourceKind::Bucket),
    ("GetBucketPolicyStatus", ResourceKind::Bucket),
    ("GetBucketPublicAccessBlock", ResourceKind::Bucket),
    ("GetBucketRequestPayment", ResourceKind::Bucket),
    ("GetBucketTagging", ResourceKind::Bucket),
    ("GetBucketVersioning", ResourceKind::Bucket),
    ("GetBucketWebsite", ResourceKind::Bucket),
    ("GetEncryptionConfiguration", ResourceKind::Bucket),
    ("GetIntelligentTieringConfiguration", ResourceKind::Bucket),
    ("GetInventoryConfiguration", ResourceKind::Bucket),
    ("GetLifecycleConfiguration", ResourceKind::Bucket),
    ("GetMetricsConfiguration", ResourceKind::Bucket),
    ("GetReplicationConfiguration", ResourceKind::Bucket),
    ("ListBucket", ResourceKind::Bucket),
    ("ListBucketMultipartUploads", ResourceKind::Bucket),
    ("ListBucketVersions", ResourceKind::Bucket),
    ("PutAccelerateConfiguration", ResourceKind::Bucket),
    ("PutAnalyticsConfiguration", ResourceKind::Bucket),
    ("PutBucketAcl", ResourceKind::Bucket),
    ("PutBucketCORS", ResourceKind::Bucket),
    ("PutBucketLogging", ResourceKind::Bucket),
    ("PutBucketNotification", ResourceKind::Bucket),
    ("PutBucketObjectLockConfiguration", ResourceKind::Bucket),
    ("PutBucketOwnershipControls", ResourceKind::Bucket),
    ("PutBucketPolicy", ResourceKind::Bucket),
    ("PutBucketPublicAccessBlock", ResourceKind::Bucket),
    ("PutBucketRequestPayment", ResourceKind::Bucket),
    ("PutBucketTagging", ResourceKind::Bucket),
    ("PutBucketVersioning", ResourceKind::Bucket),
    ("PutBucketWebsite", ResourceKind::Bucket),
    ("PutEncryptionConfiguration", ResourceKind::Bucket),
    ("PutIntelligentTieringConfiguration", ResourceKind::Bucket),
    ("PutInventoryConfiguration", ResourceKind::Bucket),
    ("PutLifecycleConfiguration", ResourceKind::Bucket),
    ("PutMetricsConfiguration", ResourceKind::Bucket),
    ("PutReplicationConfiguration", ResourceKind::Bucket),
];

/// Whether `pattern` matches `text`: `*` any run of characters (the empty one too), `?` one
/// character, everything else itself (`ignore_case`: ASCII case folded, as for action names).
pub fn glob_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        // Bytes are characters here: no allocation (the common case, and the per-request one).
        return glob_units(pattern.as_bytes(), text.as_bytes(), |a, b| {
            if ignore_case {
                a.eq_ignore_ascii_case(&b)
            } else {
                a == b
            }
        });
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    glob_units(&pattern, &text, |a, b| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    })
}

/// A pattern unit: a byte of ASCII text or a character of any other.
trait GlobUnit: Copy + PartialEq {
    const STAR: Self;
    const QUESTION: Self;
}

impl GlobUnit for u8 {
    const STAR: u8 = b'*';
    const QUESTION: u8 = b'?';
}

impl GlobUnit for char {
    const STAR: char = '*';
    const QUESTION: char = '?';
}

fn glob_units<U: GlobUnit>(pattern: &[U], text: &[U], same: impl Fn(U, U) -> bool) -> bool {
    // Iterative matching with one backtrack point: linear in practice, never exponential.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len()
            && (pattern[p] == U::QUESTION || (pattern[p] != U::STAR && same(pattern[p], text[t])))
        {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == U::STAR {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == U::STAR)
}

/// The actions (without prefix) a policy's action pattern (`s3:Get*`, `s3:*`, `*`) names, with
/// their resource kinds; empty for a pattern naming no S3 action.
pub fn actions_named(pattern: &str) -> Vec<(&'static str, ResourceKind)> {
    let name = match pattern.split_once(':') {
        Some((service, name)) if service.eq_ignore_ascii_case("s3") => name,
        Some(_) => return Vec::new(),
        None if pattern == "*" => "*",
        None => return Vec::new(),
    };
    S3_ACTIONS
        .iter()
        .filter(|(action, _)| glob_match(name, action, true))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_iam_does() {
        // Goal: `*` spans any run (empty included), `?` one character, anchored both ends.
        assert!(glob_match(
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/a/b/c",
            false
        ));
        assert!(glob_match("arn:aws:s3:::b/*", "arn:aws:s3:::b/", false));
        assert!(!glob_match("arn:aws:s3:::b/*", "arn:aws:s3:::b", false));
        assert!(glob_match("home/?ob/*", "home/bob/x", false));
        assert!(!glob_match("home/?ob/*", "home/bbob/x", false));
        assert!(glob_match("GetObject*", "getobjectacl", true));
        assert!(!glob_match("GetObject*", "getobjectacl", false));
        assert!(glob_match("*a*b*c*", "xxaxxbxxcxx", false));
        assert!(!glob_match("*a*b*c", "xxaxxbxxcxx", false));
    }

    #[test]
    fn action_patterns_name_s3_actions() {
        // Goal: wildcards and case-insensitive names select actions; other services none.
        assert_eq!(actions_named("s3:*").len(), S3_ACTIONS.len());
        assert_eq!(actions_named("*").len(), S3_ACTIONS.len());
        assert_eq!(
            actions_named("S3:getobject"),
            vec![("GetObject", ResourceKind::Object)]
        );
        assert!(actions_named("s3:Get*")
            .iter()
            .any(|(action, _)| *action == "GetBucketPolicy"));
        assert!(actions_named("s3:NoSuchAction").is_empty());
        assert!(actions_named("iam:PassRole").is_empty());
        assert!(actions_named("GetObject").is_empty());
    }
}
