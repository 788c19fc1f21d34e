//! Access control: who sent a request, S3's ACL grants (canned, `x-amz-grant-*` headers, XML
//! body), their stored form, and the one permission check every operation makes.
//!
//! Semantics are S3's classic ACLs (object ownership "ObjectWriter"): the writer owns an object,
//! the creator a bucket; an owner always keeps READ_ACP and WRITE_ACP, everything else comes
//! from grants. A resource without a stored list has S3's default, the owner's FULL_CONTROL.

use std::rc::Rc;

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::parse_tree;
use crate::http::RequestHead;
use crate::limits::ACL_GRANT_COUNT_MAX;

/// URI of the group every request belongs to, signed or not.
pub const ALL_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// URI of the group every signed request belongs to.
pub const AUTHENTICATED_USERS_URI: &str =
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
/// URI of S3's log-delivery group (accepted and stored; nothing here delivers logs).
pub const LOG_DELIVERY_URI: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";
/// Namespace of `xsi:type` on grantees.
/// What S3 shows as the owner of something an anonymous request wrote.
pub const ANONYMOUS_CANONICAL_ID: &str = "65a011a29cdf8ec533ec3d1ccaae921c";

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Access key (what `owner` columns store).
    pub access_key: String,
    /// Canonical user id (what grants name).
    pub canonical_id: String,
    /// DisplayName.
    pub display_name: String,
}

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    /// No signature at all: only what grants to AllUsers allow.
    Anonymous,
    /// A verified signature: the signer's identity, shared with the user cache (a request takes
    /// it without copying its three strings).
    User(Rc<Identity>),
}

impl Requester {
    /// The access key, empty for anonymous requests (the `owner` of what they write).
    pub fn access_key(&self) -> &str {
        match self {
            Requester::Anonymous => "",
            Requester::User(identity) => &identity.access_key,
        }
    }

    /// The identity, or AccessDenied for anonymous requests.
    pub fn signed(&self) -> S3Result<&Identity> {
        match self {
            Requester::Anonymous => Err(S3Error::new(S3ErrorCode::AccessDenied)),
            Requester::User(identity) => Ok(identity),
        }
    }
}

/// An ACL permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// List a bucket / read an object.
    Read,
    /// Write objects into a bucket (meaningless on objects, but storable).
    Write,
    /// Read the ACL.
    ReadAcp,
    /// Replace the ACL.
    WriteAcp,
    /// All of the above.
    FullControl,
}

impl Permission {
    /// S3's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Write => "WRITE",
            Permission::ReadAcp => "READ_ACP",
            Permission::WriteAcp => "WRITE_ACP",
            Permission::FullControl => "FULL_CONTROL",
        }
    }

    /// Parses S3's spelling.
    pub fn parse(text: &str) -> Option<Permission> {
        Some(match text {
            "READ" => Permission::Read,
            "WRITE" => Permission::Write,
            "READ_ACP" => Permission::ReadAcp,
            "WRITE_ACP" => Permission::WriteAcp,
            "FULL_CONTROL" => Permission::FullControl,
            _ => return None,
        })
    }

    fn covers(self, wanted: Permission) -> bool {
        self == Permission::FullControl || self == wanted
    }
}

/// Who a grant is for, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// A user by canonical id, with the display name it had when granted.
    User {
        /// Canonical id.
        id: String,
        /// DisplayName.
        display_name: String,
    },
    /// A predefined group, by URI.
    Group(String),
}

/// Who a grant in a request names, before the users are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GranteeName {
    /// `id=` / `<ID>`.
    Id(String),
    /// `emailAddress=` / `<EmailAddress>`.
    Email(String),
    /// `uri=` / `<URI>` (validated as one of the predefined groups).
    Group(String),
}

/// One grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<G> {
    /// Who.
    pub grantee: G,
    /// What.
    pub permission: Permission,
}

/// A canned ACL (`x-amz-acl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CannedAcl {
    /// Owner FULL_CONTROL only (the default).
    Private,
    /// + AllUsers READ.
    PublicRead,
    /// + AllUsers READ and WRITE.
    PublicReadWrite,
    /// + AuthenticatedUsers READ.
    AuthenticatedRead,
    /// + the bucket owner READ (objects).
    BucketOwnerRead,
    /// + the bucket owner FULL_CONTROL (objects).
    BucketOwnerFullControl,
    /// + LogDelivery WRITE and READ_ACP (buckets).
    LogDeliveryWrite,
    /// EC2's read grant, which has no meaning here: the owner's FULL_CONTROL only.
    AwsExecRead,
}

impl CannedAcl {
    /// Parses an `x-amz-acl` value.
    pub fn parse(text: &str) -> Option<CannedAcl> {
        Some(match text {
            "private" => CannedAcl::Private,
            "public-read" => CannedAcl::PublicRead,
            "public-read-write" => CannedAcl::PublicReadWrite,
            "authenticated-read" => CannedAcl::AuthenticatedRead,
            "bucket-owner-read" => CannedAcl::BucketOwnerRead,
            "bucket-owner-full-control" => CannedAcl::BucketOwnerFullControl,
            "log-delivery-write" => CannedAcl::LogDeliveryWrite,
            "aws-exec-read" => CannedAcl::AwsExecRead,
            _ => return None,
        })
    }

    /// The grants it stands for; group grants come first and the owner's last, the order Ceph
    /// RGW answers in (which s3-tests indexes into), since AWS documents none.
    pub fn grants(self, owner: &Identity, bucket_owner: &Identity) -> Vec<Grant<Grantee>> {
        let user = |identity: &Identity, permission| Grant {
            grantee: Grantee::User {
                id: identity.canonical_id.clone(),
                display_name: identity.display_name.clone(),
            },
            permission,
        };
        let group = |uri: &str, permission| Grant {
            grantee: Grantee::Group(uri.to_string()),
            permission,
        };
        let mut grants = match self {
            CannedAcl::Private | CannedAcl::AwsExecRead => Vec::new(),
            CannedAcl::PublicRead => vec![group(ALL_USERS_URI, Permission::Read)],
            CannedAcl::PublicReadWrite => vec![
                group(ALL_USERS_URI, Permission::Read),
                group(ALL_USERS_URI, Permission::Write),
            ],
            CannedAcl::AuthenticatedRead => vec![group(AUTHENTICATED_USERS_URI, Permission::Read)],
            CannedAcl::LogDeliveryWrite => vec![
                group(LOG_DELIVERY_URI, Permission::Write),
                group(LOG_DELIVERY_URI, Permission::ReadAcp),
            ],
            CannedAcl::BucketOwnerRead | CannedAcl::BucketOwnerFullControl => Vec::new(),
        };
        grants.push(user(owner, Permission::FullControl));
        if bucket_owner.canonical_id != owner.canonical_id {
            match self {
                CannedAcl::BucketOwnerRead => grants.push(user(bucket_owner, Permission::Read)),
                CannedAcl::BucketOwnerFullControl => {
                    grants.push(user(bucket_owner, Permission::FullControl))
                }
                _ => {}
            }
        }
        grants
    }
}

/// The ACL a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclRequest {
    /// `x-amz-acl`.
    Canned(CannedAcl),
    /// `x-amz-grant-*` headers or an `AccessControlPolicy` body: exactly these grants.
    Grants(Vec<Grant<GranteeName>>),
}

/// Headers naming grants, with the permission each gives.
const GRANT_HEADERS: [(&str, Permission); 5] = [
    ("x-amz-grant-read", Permission::Read),
    ("x-amz-grant-write", Permission::Write),
    ("x-amz-grant-read-acp", Permission::ReadAcp),
    ("x-amz-grant-write-acp", Permission::WriteAcp),
    ("x-amz-grant-full-control", Permission::FullControl),
];

fn invalid_argument(message: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message.into())
}

fn group_uri(uri: &str) -> S3Result<String> {
    match uri {
        ALL_USERS_URI | AUTHENTICATED_USERS_URI | LOG_DELIVERY_URI => Ok(uri.to_string()),
        _ => Err(invalid_argument(format!("Invalid group uri: {uri}"))),
    }
}

/// Parses one `x-amz-grant-*` value: `id="…", uri="…", emailAddress="…"` (quotes optional).
fn parse_grant_header(value: &str, permission: Permission) -> S3Result<Vec<Grant<GranteeName>>> {
    let mut grants = Vec::new();
    for item in value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (kind, name) = item
            .split_once('=')
            .ok_or_else(|| invalid_argument(format!("Invalid grant: {item}")))?;
        let name = name.trim().trim_matches('"').to_string();
        let grantee = match kind.trim().to_ascii_lowercase().as_str() {
            "id" => GranteeName::Id(name),
            "emailaddress" => GranteeName::Email(name),
            "uri" => GranteeName::Group(group_uri(&name)?),
            _ => return Err(invalid_argument(format!("Invalid grantee type: {kind}"))),
        };
        grants.push(Grant {
            grantee,
            permission,
        });
    }
    Ok(grants)
}

/// The ACL the request's `x-amz-acl` or `x-amz-grant-*` headers ask for, if any.
pub fn acl_from_headers(head: &RequestHead) -> S3Result<Option<AclRequest>> {
    let canned = head.header("x-amz-acl");
    let mut grants = Vec::new();
    let mut any_grant_header = false;
    for (name, permission) in GRANT_HEADERS {
        if let Some(value) = head.header(name) {
            any_grant_header = true;
            grants.extend(parse_grant_header(value, permission)?);
        }
    }
    if grants.len() > ACL_GRANT_COUNT_MAX {
        return Err(invalid_argument("Too many grants"));
    }
    match (canned, any_grant_header) {
        (Some(_), true) => Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Specifying both Canned ACLs and Header Grants is not allowed",
        )),
        (Some(text), false) => CannedAcl::parse(text.trim())
            .map(|canned| Some(AclRequest::Canned(canned)))
            .ok_or_else(|| invalid_argument(format!("Invalid canned ACL: {text}"))),
        (None, true) => Ok(Some(AclRequest::Grants(grants))),
        (None, false) => Ok(None),
    }
}

/// Parses an `AccessControlPolicy` body into its grants (the Owner element is not authoritative:
/// ownership never changes through an ACL).
pub fn parse_access_control_policy(body: &[u8]) -> S3Result<Vec<Grant<GranteeName>>> {
    let malformed = || S3Error::new(S3ErrorCode::MalformedACLError);
    let root = parse_tree(body).map_err(|_| malformed())?;
    if root.name != "AccessControlPolicy" {
        return Err(malformed());
    }
    let mut grants = Vec::new();
    let Some(list) = root.child("AccessControlList") else {
        return Err(malformed());
    };
    for grant in &list.children {
        if grant.name != "Grant" {
            return Err(malformed());
        }
        let grantee = grant.child("Grantee").ok_or_else(malformed)?;
        let permission = grant
            .child("Permission")
            .and_then(|node| Permission::parse(node.text.trim()))
            .ok_or_else(malformed)?;
        let text = |name: &str| grantee.child(name).map(|node| node.text.trim().to_string());
        let name = if let Some(id) = text("ID") {
            GranteeName::Id(id)
        } else if let Some(uri) = text("URI") {
            GranteeName::Group(group_uri(&uri)?)
        } else if let Some(email) = text("EmailAddress") {
            GranteeName::Email(email)
        } else {
            return Err(malformed());
        };
        grants.push(Grant {
            grantee: name,
            permission,
        });
        if grants.len() > ACL_GRANT_COUNT_MAX {
            return Err(invalid_argument("Too many grants"));
        }
    }
    Ok(grants)
}

/// The stored form: one grant per line, `PERMISSION\tu\tID\tDISPLAY` or `PERMISSION\tg\tURI`.
/// (Display names never hold tabs or newlines: `ringstore user add` refuses them.)
pub fn encode_grants(grants: &[Grant<Grantee>]) -> String {
    let mut text = String::new();
    for grant in grants {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(grant.permission.name());
        match &grant.grantee {
            Grantee::User { id, display_name } => {
                text.push_str("\tu\t");
                text.push_str(id);
                text.push('\t');
                text.push_str(display_name);
            }
            Grantee::Group(uri) => {
                text.push_str("\tg\t");
                text.push_str(uri);
            }
        }
    }
    text
}

/// Reads the stored form back; lines it cannot read are skipped (they grant nothing).
pub fn decode_grants(text: &str) -> Vec<Grant<Grantee>> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let permission = Permission::parse(fields.next()?)?;
            let grantee = match fields.next()? {
                "u" => Grantee::User {
                    id: fields.next()?.to_string(),
                    display_name: fields.next().unwrap_or_default().to_string(),
                },
                "g" => Grantee::Group(fields.next()?.to_string()),
                _ => return None,
            };
            Some(Grant {
                grantee,
                permission,
            })
        })
        .collect()
}

/// Whether `requester` may do what needs `permission` on something owned by the access key
/// `owner` with the stored list `acl`.
pub fn allows(
    owner: &str,
    acl: Option<&str>,
    requester: &Requester,
    permission: Permission,
) -> bool {
    allows_acl(owner, acl, requester, permission, false)
}

/// Whether a stored list grants anything to AllUsers or AuthenticatedUsers (a "public" ACL, S3
/// User Guide, "Blocking public access").
pub fn is_public_acl(acl: Option<&str>) -> bool {
    acl.is_some_and(|text| {
        decode_grants(text).iter().any(|grant| {
            matches!(&grant.grantee, Grantee::Group(uri)
                if uri == ALL_USERS_URI || uri == AUTHENTICATED_USERS_URI)
        })
    })
}

/// `allows`, with the group grants (AllUsers, AuthenticatedUsers) left out when
/// `ignore_public_acls` (PublicAccessBlock's IgnorePublicAcls).
pub fn allows_acl(
    owner: &str,
    acl: Option<&str>,
    requester: &Requester,
    permission: Permission,
    ignore_public_acls: bool,
) -> bool {
    let identity = match requester {
        Requester::User(identity) => Some(identity),
        Requester::Anonymous => None,
    };
    let is_owner = identity.is_some_and(|identity| identity.access_key == owner);
    if is_owner && matches!(permission, Permission::ReadAcp | Permission::WriteAcp) {
        return true;
    }
    let Some(text) = acl else {
        return is_owner;
    };
    decode_grants(text).iter().any(|grant| {
        grant.permission.covers(permission)
            && match &grant.grantee {
                Grantee::User { id, .. } => {
                    identity.is_some_and(|identity| identity.canonical_id == *id)
                }
                Grantee::Group(_) if ignore_public_acls => false,
                Grantee::Group(uri) => {
                    uri == ALL_USERS_URI || (uri == AUTHENTICATED_USERS_URI && identity.is_some())
                }
            }
    })
}

/// The grants a stored list stands for (`None`: the owner's FULL_CONTROL).
pub fn effective_grants(acl: Option<&str>, owner: &Identity) -> Vec<Grant<Grantee>> {
    match acl {
        Some(text) => decode_grants(text),
        None => CannedAcl::Private.grants(owner, owner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(name: &str) -> Identity {
        Identity {
            access_key: format!("{name}-key"),
            canonical_id: format!("{name}-id"),
            display_name: name.to_string(),
        }
    }

    // Goal: the permission check follows S3's classic ACL rules for owners, users, groups and
    // anonymous requests.
    #[test]
    fn permission_check() {
        let (alice, bob) = (identity("alice"), identity("bob"));
        let as_alice = Requester::User(Rc::new(alice.clone()));
        let as_bob = Requester::User(Rc::new(bob.clone()));
        let anonymous = Requester::Anonymous;
        // Default (no list): the owner only.
        assert!(allows("alice-key", None, &as_alice, Permission::Write));
        assert!(!allows("alice-key", None, &as_bob, Permission::Read));
        assert!(!allows("alice-key", None, &anonymous, Permission::Read));
        // public-read: everyone reads, nobody else writes.
        let public = encode_grants(&CannedAcl::PublicRead.grants(&alice, &alice));
        assert!(allows(
            "alice-key",
            Some(&public),
            &anonymous,
            Permission::Read
        ));
        assert!(allows(
            "alice-key",
            Some(&public),
            &as_bob,
            Permission::Read
        ));
        assert!(!allows(
            "alice-key",
            Some(&public),
            &as_bob,
            Permission::Write
        ));
        assert!(!allows(
            "alice-key",
            Some(&public),
            &as_bob,
            Permission::ReadAcp
        ));
        // authenticated-read: signed requests only.
        let signed = encode_grants(&CannedAcl::AuthenticatedRead.grants(&alice, &alice));
        assert!(allows(
            "alice-key",
            Some(&signed),
            &as_bob,
            Permission::Read
        ));
        assert!(!allows(
            "alice-key",
            Some(&signed),
            &anonymous,
            Permission::Read
        ));
        // An empty list: the owner keeps only READ_ACP and WRITE_ACP.
        assert!(!allows("alice-key", Some(""), &as_alice, Permission::Read));
        assert!(allows(
            "alice-key",
            Some(""),
            &as_alice,
            Permission::WriteAcp
        ));
        // A user grant: FULL_CONTROL covers everything, READ covers READ.
        let to_bob = encode_grants(&[Grant {
            grantee: Grantee::User {
                id: "bob-id".into(),
                display_name: "bob".into(),
            },
            permission: Permission::FullControl,
        }]);
        assert!(allows(
            "alice-key",
            Some(&to_bob),
            &as_bob,
            Permission::WriteAcp
        ));
        assert!(!allows(
            "alice-key",
            Some(&to_bob),
            &as_alice,
            Permission::Read
        ));
    }

    // Goal: canned ACLs expand to S3's grants in RGW's order; the stored form round-trips.
    #[test]
    fn canned_grants_and_round_trip() {
        let (alice, bob) = (identity("alice"), identity("bob"));
        let grants = CannedAcl::PublicReadWrite.grants(&alice, &bob);
        assert_eq!(grants.len(), 3);
        assert_eq!(grants[0].grantee, Grantee::Group(ALL_USERS_URI.into()));
        assert_eq!(grants[1].permission, Permission::Write);
        assert_eq!(grants[2].permission, Permission::FullControl);
        assert_eq!(decode_grants(&encode_grants(&grants)), grants);
        let owner_read = CannedAcl::BucketOwnerRead.grants(&bob, &alice);
        assert_eq!(owner_read.len(), 2);
        assert_eq!(CannedAcl::BucketOwnerRead.grants(&alice, &alice).len(), 1);
    }

    // Goal: grant headers and XML bodies parse as AWS documents them; bad input is refused.
    #[test]
    fn parses_headers_and_policy() {
        let grants = parse_grant_header(
            r#"id="abc", uri="http://acs.amazonaws.com/groups/global/AllUsers", emailAddress=x@y.z"#,
            Permission::Read,
        )
        .unwrap();
        assert_eq!(
            grants
                .iter()
                .map(|grant| grant.grantee.clone())
                .collect::<Vec<_>>(),
            [
                GranteeName::Id("abc".into()),
                GranteeName::Group(ALL_USERS_URI.into()),
                GranteeName::Email("x@y.z".into())
            ]
        );
        assert!(parse_grant_header("uri=http://example.com/group", Permission::Read).is_err());
        assert!(parse_grant_header("nonsense", Permission::Read).is_err());
        let body = br#"<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
            <Owner><ID>o</ID></Owner><AccessControlList>
            <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>abc</ID></Grantee><Permission>WRITE_ACP</Permission></Grant>
            <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AuthenticatedUsers</URI></Grantee><Permission>READ</Permission></Grant>
            </AccessControlList></AccessControlPolicy>"#;
        let grants = parse_access_control_policy(body).unwrap();
        assert_eq!(grants.len(), 2);
        assert_eq!(grants[0].permission, Permission::WriteAcp);
        assert_eq!(
            grants[1].grantee,
            GranteeName::Group(AUTHENTICATED_USERS_URI.into())
        );
        let bad_permission = br#"<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>a</ID></Grantee><Permission>ALL</Permission></Grant></AccessControlList></AccessControlPolicy>"#;
        assert_eq!(
            parse_access_control_policy(bad_permission)
                .unwrap_err()
                .code,
            S3ErrorCode::MalformedACLError
        );
    }
}
