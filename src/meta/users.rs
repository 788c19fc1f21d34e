//! Users beyond the bootstrap admin: their rows, lookups, and the commands that change them — one
//! implementation for `ringstore user` (another process, through `MetaStore::apply`) and the admin
//! API (through the metadata thread).

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::{Digest, Sha256};

use super::command::{Changes, MetaCommand};
use super::MetaError;
use crate::limits::{USERS_MAX, USER_NAME_BYTES_MAX};

/// Letters of a generated access key (AWS keys are upper-case letters and digits).
const ACCESS_KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Length of a generated access key (AWS: 20).
const ACCESS_KEY_LENGTH: usize = 20;
/// Random bytes behind a generated secret (30 bytes = 40 base64 characters, AWS's secret length).
const SECRET_RANDOM_BYTES: usize = 30;

/// A user as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Access key id.
    pub access_key: String,
    /// Secret access key (needed in clear: SigV4 verification recomputes the HMAC chain from it).
    pub secret: String,
    /// Name S3 shows as `DisplayName`.
    pub display_name: String,
    /// Address an ACL grant may name instead of the canonical id.
    pub email: Option<String>,
    /// S3's canonical user id (64 hex digits).
    pub canonical_id: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// May call the admin API.
    pub admin: bool,
    /// Signs nothing: requests with this key are refused as with an unknown key.
    pub disabled: bool,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("UserRecord")
            .field("access_key", &self.access_key)
            .field("secret", &"<redacted>")
            .field("display_name", &self.display_name)
            .field("canonical_id", &self.canonical_id)
            .field("admin", &self.admin)
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// How a user is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    /// By access key (authentication).
    AccessKey(String),
    /// By canonical id (an ACL grant naming an id).
    CanonicalId(String),
    /// By email address (an ACL grant naming an email).
    Email(String),
}

/// Why a user could not be added or removed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The name or email is empty, too long or has characters a display name should not.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which input.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Another user has this name or email.
    #[error("a user with this name or email already exists")]
    Exists,
    /// No user has this access key.
    #[error("no user has access key {0}")]
    NotFound(String),
    /// The user owns buckets: removing them would leave those buckets (and the objects in them)
    /// owned by a key nobody can sign with, out of everyone's reach.
    #[error("{0} owns buckets: delete them first, or disable the user instead")]
    OwnsBuckets(String),
    /// `USERS_MAX` users exist already.
    #[error("there are {USERS_MAX} users already")]
    TooMany,
    /// The system random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// SQLite failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// S3's canonical user id for an access key: 64 hex digits, stable per key, revealing nothing.
pub fn canonical_id(access_key: &str) -> String {
    hex::encode(Sha256::digest(
        format!("ringstore-owner:{access_key}").as_bytes(),
    ))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], UserError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|error| UserError::Random(error.to_string()))?;
    Ok(bytes)
}

/// A fresh access key and secret from the operating system's random source.
pub fn generate_credentials() -> Result<(String, String), UserError> {
    let key_bytes = random_bytes::<ACCESS_KEY_LENGTH>()?;
    let access_key = key_bytes
        .iter()
        .map(|byte| ACCESS_KEY_ALPHABET[usize::from(*byte) % ACCESS_KEY_ALPHABET.len()] as char)
        .collect();
    use base64::Engine;
    let secret =
        base64::engine::general_purpose::STANDARD.encode(random_bytes::<SECRET_RANDOM_BYTES>()?);
    Ok((access_key, secret))
}

fn validate_name(name: &str) -> Result<(), UserError> {
    let invalid = |reason| UserError::Invalid {
        field: "name",
        reason,
    };
    if name.is_empty() || name.len() > USER_NAME_BYTES_MAX {
        return Err(invalid("expected 1 to 64 bytes"));
    }
    if !name
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || b"-_.@+=,".contains(&byte))
    {
        return Err(invalid("expected letters, digits and -_.@+=,"));
    }
    Ok(())
}

fn validate_email(email: &str) -> Result<(), UserError> {
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
        });
    if valid {
        Ok(())
    } else {
        Err(UserError::Invalid {
            field: "email",
            reason: "expected name@domain",
        })
    }
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        access_key: row.get(0)?,
        secret: row.get(1)?,
        display_name: row.get(2)?,
        email: row.get(3)?,
        canonical_id: row.get(4)?,
        created_ms: row.get(5)?,
        admin: row.get(6)?,
        disabled: row.get(7)?,
    })
}

const USER_COLUMNS: &str =
    "access_key, secret, display_name, email, canonical_id, created_ms, admin, disabled";

/// Finds a user.
pub(crate) fn get_user(
    connection: &Connection,
    lookup: &UserLookup,
) -> rusqlite::Result<Option<UserRecord>> {
    let (column, value) = match lookup {
        UserLookup::AccessKey(value) => ("access_key", value),
        UserLookup::CanonicalId(value) => ("canonical_id", value),
        // Emails are stored lower-case (`AddUser`): an address matches whatever its case.
        UserLookup::Email(value) => ("email", &value.to_ascii_lowercase()),
    };
    connection
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {column} = ?1"
        ))?
        .query_row([value], user_from_row)
        .optional()
}

/// Look a user up (the per-core user cache asks on a miss).
#[derive(Debug)]
pub struct GetUser(pub UserLookup);

impl MetaCommand for GetUser {
    type Reply = Option<UserRecord>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Option<UserRecord>, MetaError> {
        Ok(get_user(transaction, &self.0)?)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }

    /// Reads the user row only.
    fn keeps_versions_staged(&self) -> bool {
        true
    }

    const READ_ONLY: bool = true;
}

/// Add a user with generated credentials (`ringstore user add` and the admin API both send it).
#[derive(Debug)]
pub struct AddUser {
    /// Name S3 shows as `DisplayName` (unique).
    pub display_name: String,
    /// Address an ACL grant may name (unique).
    pub email: Option<String>,
    /// Whether the user may call the admin API.
    pub admin: bool,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
}

impl MetaCommand for AddUser {
    /// The user with their secret (shown this once), or why not.
    type Reply = Result<UserRecord, UserError>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        if let Err(error) = validate_name(&self.display_name)
            .and_then(|()| self.email.as_deref().map_or(Ok(()), validate_email))
        {
            return Ok(Err(error));
        }
        let count: i64 = transaction
            .prepare_cached("SELECT count(*) FROM users")?
            .query_row([], |row| row.get(0))?;
        if count >= USERS_MAX as i64 {
            return Ok(Err(UserError::TooMany));
        }
        let (access_key, secret) = match generate_credentials() {
            Ok(credentials) => credentials,
            Err(error) => return Ok(Err(error)),
        };
        let record = UserRecord {
            canonical_id: canonical_id(&access_key),
            access_key,
            secret,
            display_name: self.display_name.clone(),
            // Lower-case: `B@X.COM` and `b@x.com` are one address (and one grantee).
            email: self.email.as_deref().map(str::to_ascii_lowercase),
            created_ms: self.created_ms,
            admin: self.admin,
            disabled: false,
        };
        let inserted = transaction
            .prepare_cached(&format!(
                "INSERT OR IGNORE INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?
            .execute(params![
                record.access_key,
                record.secret,
                record.display_name,
                record.email,
                record.canonical_id,
                record.created_ms,
                record.admin,
                record.disabled
            ])?;
        Ok(match inserted {
            1 => Ok(record),
            _ => Err(UserError::Exists),
        })
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Users
    }
}

/// Every user, oldest first.
#[derive(Debug)]
pub struct ListUsers;

impl MetaCommand for ListUsers {
    type Reply = Vec<UserRecord>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        let mut statement = transaction.prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY created_ms, access_key"
        ))?;
        let users = statement
            .query_map([], user_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(users)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

/// Remove a user who owns no bucket (objects they wrote into others' buckets stay theirs, and
/// the bucket owners can still delete them).
#[derive(Debug)]
pub struct RemoveUser(pub String);

impl MetaCommand for RemoveUser {
    type Reply = Result<(), UserError>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        let owns_buckets = transaction
            .prepare_cached("SELECT 1 FROM buckets WHERE owner = ?1 LIMIT 1")?
            .query_row([&self.0], |_| Ok(()))
            .optional()?
            .is_some();
        if owns_buckets {
            return Ok(Err(UserError::OwnsBuckets(self.0.clone())));
        }
        let removed = transaction
            .prepare_cached("DELETE FROM users WHERE access_key = ?1")?
            .execute([&self.0])?;
        Ok(match removed {
            0 => Err(UserError::NotFound(self.0.clone())),
            _ => Ok(()),
        })
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Users
    }
}

/// Change a user's role or status, and/or replace their secret.
#[derive(Debug, Default)]
pub struct UpdateUser {
    /// Whose.
    pub access_key: String,
    /// The admin role, if it changes.
    pub admin: Option<bool>,
    /// Disabled (signs nothing) or enabled, if it changes.
    pub disabled: Option<bool>,
    /// Replace the secret with a fresh one. The access key stays: it is the user's identity, the
    /// owner recorded on their buckets and objects.
    pub rotate_secret: bool,
}

impl MetaCommand for UpdateUser {
    /// The user as updated (with the new secret when rotated), or why not.
    type Reply = Result<UserRecord, UserError>;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Self::Reply, MetaError> {
        let lookup = UserLookup::AccessKey(self.access_key.clone());
        let Some(mut record) = get_user(transaction, &lookup)? else {
            return Ok(Err(UserError::NotFound(self.access_key.clone())));
        };
        if self.rotate_secret {
            record.secret = match generate_credentials() {
                Ok((_, secret)) => secret,
                Err(error) => return Ok(Err(error)),
            };
        }
        record.admin = self.admin.unwrap_or(record.admin);
        record.disabled = self.disabled.unwrap_or(record.disabled);
        transaction
            .prepare_cached(
                "UPDATE users SET secret = ?2, admin = ?3, disabled = ?4 WHERE access_key = ?1",
            )?
            .execute(params![
                record.access_key,
                record.secret,
                record.admin,
                record.disabled
            ])?;
        Ok(Ok(record))
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Users
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::MetaStore;

    fn add(
        store: &mut MetaStore,
        name: &str,
        email: Option<&str>,
    ) -> Result<UserRecord, UserError> {
        store
            .apply(&AddUser {
                display_name: name.to_string(),
                email: email.map(str::to_string),
                admin: false,
                // Oldest first: a later name of the test is a later user.
                created_ms: i64::from(name.as_bytes()[0]),
            })
            .unwrap()
    }

    // Goal: users round-trip through SQLite, names and emails stay unique, role, status and
    // secret change in place, removal is final.
    #[test]
    fn add_find_list_update_remove() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        let alice = add(&mut store, "alice", Some("alice@example.com")).unwrap();
        assert_eq!(alice.access_key.len(), ACCESS_KEY_LENGTH);
        assert_eq!(alice.secret.len(), 40);
        assert_eq!(alice.canonical_id, canonical_id(&alice.access_key));
        assert!(!alice.admin && !alice.disabled);
        assert!(matches!(
            add(&mut store, "alice", None),
            Err(UserError::Exists)
        ));
        assert!(matches!(
            add(&mut store, "bob", Some("alice@example.com")),
            Err(UserError::Exists)
        ));
        assert!(matches!(
            add(&mut store, "bad name", None),
            Err(UserError::Invalid { .. })
        ));
        assert!(matches!(
            add(&mut store, "carol", Some("no-at-sign")),
            Err(UserError::Invalid { field: "email", .. })
        ));
        let bob = add(&mut store, "bob", None).unwrap();
        assert_ne!(alice.access_key, bob.access_key);
        for lookup in [
            UserLookup::AccessKey(alice.access_key.clone()),
            UserLookup::CanonicalId(alice.canonical_id.clone()),
            UserLookup::Email("alice@example.com".into()),
        ] {
            assert_eq!(
                get_user(store.connection(), &lookup).unwrap().as_ref(),
                Some(&alice)
            );
        }
        let names: Vec<String> = store
            .apply(&ListUsers)
            .unwrap()
            .into_iter()
            .map(|user| user.display_name)
            .collect();
        assert_eq!(names, ["alice", "bob"]);
        let rotated = store
            .apply(&UpdateUser {
                access_key: bob.access_key.clone(),
                admin: Some(true),
                disabled: Some(true),
                rotate_secret: true,
            })
            .unwrap()
            .unwrap();
        assert!(rotated.admin && rotated.disabled);
        assert_eq!(rotated.access_key, bob.access_key);
        assert_ne!(rotated.secret, bob.secret);
        assert_eq!(
            get_user(
                store.connection(),
                &UserLookup::AccessKey(bob.access_key.clone())
            )
            .unwrap()
            .as_ref(),
            Some(&rotated)
        );
        store
            .apply(&RemoveUser(alice.access_key.clone()))
            .unwrap()
            .unwrap();
        assert!(matches!(
            store.apply(&RemoveUser(alice.access_key.clone())).unwrap(),
            Err(UserError::NotFound(_))
        ));
        assert!(matches!(
            store
                .apply(&UpdateUser {
                    access_key: alice.access_key.clone(),
                    ..Default::default()
                })
                .unwrap(),
            Err(UserError::NotFound(_))
        ));
        assert_eq!(
            get_user(
                store.connection(),
                &UserLookup::AccessKey(alice.access_key.clone())
            )
            .unwrap(),
            None
        );
        assert!(
            format!("{bob:?}").contains("<redacted>") && !format!("{bob:?}").contains(&bob.secret)
        );
    }
}
