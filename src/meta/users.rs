//! Users beyond the bootstrap admin: their rows, lookups, and the credentials `ringstore user add`
//! generates.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::{Digest, Sha256};

use super::command::{Changes, MetaCommand};
use super::{MetaError, MetaStore};
use crate::limits::USER_NAME_BYTES_MAX;

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
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("UserRecord")
            .field("access_key", &self.access_key)
            .field("secret", &"<redacted>")
            .field("display_name", &self.display_name)
            .field("canonical_id", &self.canonical_id)
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
    })
}

const USER_COLUMNS: &str = "access_key, secret, display_name, email, canonical_id, created_ms";

/// Finds a user.
pub(crate) fn get_user(
    connection: &Connection,
    lookup: &UserLookup,
) -> rusqlite::Result<Option<UserRecord>> {
    let (column, value) = match lookup {
        UserLookup::AccessKey(value) => ("access_key", value),
        UserLookup::CanonicalId(value) => ("canonical_id", value),
        UserLookup::Email(value) => ("email", value),
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
}

impl MetaStore {
    /// Adds a user with generated credentials (used by `ringstore user add`, another process
    /// than the server; SQLite's locking keeps the two consistent).
    pub fn add_user(
        &mut self,
        display_name: &str,
        email: Option<&str>,
        now_ms: i64,
    ) -> Result<UserRecord, UserError> {
        validate_name(display_name)?;
        if let Some(email) = email {
            validate_email(email)?;
        }
        let (access_key, secret) = generate_credentials()?;
        let record = UserRecord {
            canonical_id: canonical_id(&access_key),
            access_key,
            secret,
            display_name: display_name.to_string(),
            email: email.map(str::to_string),
            created_ms: now_ms,
        };
        let inserted = self.connection().execute(
            &format!(
                "INSERT OR IGNORE INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ),
            params![
                record.access_key,
                record.secret,
                record.display_name,
                record.email,
                record.canonical_id,
                record.created_ms
            ],
        );
        match inserted.map_err(MetaError::from)? {
            1 => Ok(record),
            _ => Err(UserError::Exists),
        }
    }

    /// Every user, oldest first.
    pub fn list_users(&self) -> Result<Vec<UserRecord>, MetaError> {
        let mut statement = self.connection().prepare(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY created_ms, access_key"
        ))?;
        let users = statement
            .query_map([], user_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(users)
    }

    /// Removes a user; what they own stays (and stays theirs, should the key come back).
    pub fn remove_user(&mut self, access_key: &str) -> Result<(), UserError> {
        let removed = self
            .connection()
            .execute("DELETE FROM users WHERE access_key = ?1", [access_key])
            .map_err(MetaError::from)?;
        if removed == 0 {
            return Err(UserError::NotFound(access_key.to_string()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: users round-trip through SQLite, names and emails stay unique, removal is final.
    #[test]
    fn add_find_list_remove() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        let alice = store
            .add_user("alice", Some("alice@example.com"), 1)
            .unwrap();
        assert_eq!(alice.access_key.len(), ACCESS_KEY_LENGTH);
        assert_eq!(alice.secret.len(), 40);
        assert_eq!(alice.canonical_id, canonical_id(&alice.access_key));
        assert!(matches!(
            store.add_user("alice", None, 2),
            Err(UserError::Exists)
        ));
        assert!(matches!(
            store.add_user("bob", Some("alice@example.com"), 2),
            Err(UserError::Exists)
        ));
        assert!(matches!(
            store.add_user("bad name", None, 2),
            Err(UserError::Invalid { .. })
        ));
        let bob = store.add_user("bob", None, 3).unwrap();
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
            .list_users()
            .unwrap()
            .into_iter()
            .map(|user| user.display_name)
            .collect();
        assert_eq!(names, ["alice", "bob"]);
        store.remove_user(&alice.access_key).unwrap();
        assert!(matches!(
            store.remove_user(&alice.access_key),
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
