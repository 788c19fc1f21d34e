//! Keyset listing with delimiter roll-up: each page costs index seeks proportional to what it
//! returns (one seek per common prefix, skipping everything under it), and truncation is found
//! by over-fetching one entry in the same scan, never by a second query.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, ToSql, Transaction};

use super::bucket_rows::require_bucket;
use super::command::{Changes, MetaCommand};
use super::{MetaError, ObjectSummary};

/// What to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Bucket name.
    pub bucket: String,
    /// Only keys starting with this.
    pub prefix: String,
    /// Roll keys up to the first occurrence of this after the prefix.
    pub delimiter: Option<String>,
    /// Exclusive cursor: list entries after this key (or common prefix).
    pub after: Option<String>,
    /// Entries (objects + common prefixes) per page; 0 is allowed.
    pub max_keys: usize,
}

/// One page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Objects, in key order.
    pub objects: Vec<ObjectSummary>,
    /// Common prefixes, in order.
    pub common_prefixes: Vec<String>,
    /// More entries follow.
    pub is_truncated: bool,
    /// The last entry returned (key or common prefix): the cursor for the next page.
    pub last: Option<String>,
}

/// Bytes that sort after every key starting with `prefix` (prefix with its last byte incremented,
/// carrying); `None` when no such bound exists (all 0xFF).
pub(super) fn upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut bound = prefix.to_vec();
    while let Some(last) = bound.pop() {
        if last < 0xFF {
            bound.push(last + 1);
            return Some(bound);
        }
    }
    None
}

/// Bytes that sort after every key (keys are UTF-8, which never holds the byte 0xFF).
const KEYS_END: &[u8] = b"\xff";

/// The exclusive end of the keys starting with `prefix`: its [`upper_bound`], or [`KEYS_END`]
/// for an empty prefix. Always bound as `key < ?`, which SQLite uses to end its index scan: the
/// earlier `(? IS NULL OR key < ?)` cannot bound a scan, so every listing that ran out of its
/// prefix read every later key of the bucket (a 997-prefix page over 1,000,000 keys spent ~40 ms
/// reading the 333,000 keys after it).
pub(super) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    upper_bound(prefix).unwrap_or_else(|| KEYS_END.to_vec())
}

/// Binds raw bytes as TEXT so they compare with keys byte-wise (a BLOB would sort after all TEXT).
pub(super) struct TextBytes<'a>(pub(super) &'a [u8]);

impl ToSql for TextBytes<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.0)))
    }
}

/// Where the scan continues.
enum Seek {
    /// Keys strictly greater than this.
    After(Vec<u8>),
    /// Keys greater than or equal to this.
    From(Vec<u8>),
}

/// Up to ?4 entries of bucket ?1 after key ?2, below ?3 (`prefix_end`).
pub(super) const PAGE_AFTER_SQL: &str = "SELECT key, size, etag, last_modified_ms, owner \
     FROM objects WHERE bucket = ?1 AND key > ?2 AND key < ?3 \
     ORDER BY key LIMIT ?4";

/// As `PAGE_AFTER_SQL`, from key ?2 inclusive.
pub(super) const PAGE_FROM_SQL: &str = "SELECT key, size, etag, last_modified_ms, owner \
     FROM objects WHERE bucket = ?1 AND key >= ?2 AND key < ?3 \
     ORDER BY key LIMIT ?4";

/// `PAGE_AFTER_SQL` with the stored headers (the storage class), for buckets that have classes.
pub(super) const PAGE_AFTER_WITH_HEADERS_SQL: &str = "SELECT key, size, etag, last_modified_ms, \
     owner, headers FROM objects WHERE bucket = ?1 AND key > ?2 AND key < ?3 \
     ORDER BY key LIMIT ?4";

/// `PAGE_FROM_SQL` with the stored headers.
pub(super) const PAGE_FROM_WITH_HEADERS_SQL: &str = "SELECT key, size, etag, last_modified_ms, \
     owner, headers FROM objects WHERE bucket = ?1 AND key >= ?2 AND key < ?3 \
     ORDER BY key LIMIT ?4";

/// One page of a bucket listing (NoSuchBucket if the bucket is missing).
#[derive(Debug)]
pub struct ListObjects(pub ListQuery);

impl MetaCommand for ListObjects {
    type Reply = Listing;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<Listing, MetaError> {
        require_bucket(transaction, &self.0.bucket)?;
        list(transaction, &self.0)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }

    /// Reads current rows only.
    fn keeps_versions_staged(&self) -> bool {
        true
    }

    const READ_ONLY: bool = true;
}

/// Lists one page.
// Long on purpose: one scan that re-runs two prepared statements per common prefix (no
// re-prepare, see `store::tests::listing_statements_are_never_reprepared`); split, the statements
// would have to be passed around or prepared again.
pub fn list(transaction: &Transaction<'_>, query: &ListQuery) -> Result<Listing, MetaError> {
    let mut listing = Listing::default();
    if query.max_keys == 0 {
        return Ok(listing);
    }
    let prefix = query.prefix.as_bytes();
    let end = prefix_end(prefix);
    let mut seek = match &query.after {
        Some(after) if after.as_bytes() >= prefix => Seek::After(after.as_bytes().to_vec()),
        _ => Seek::From(prefix.to_vec()),
    };
    let delimiter = query.delimiter.as_deref().filter(|d| !d.is_empty());
    // Reading the stored headers costs a listing over half its speed; only buckets that ever
    // held a non-STANDARD object pay it.
    let classes = super::object_rows::has_storage_classes(transaction, &query.bucket)?;
    let (after_sql, from_sql) = if classes {
        (PAGE_AFTER_WITH_HEADERS_SQL, PAGE_FROM_WITH_HEADERS_SQL)
    } else {
        (PAGE_AFTER_SQL, PAGE_FROM_SQL)
    };
    let mut statement_after = transaction.prepare_cached(after_sql)?;
    let mut statement_from = transaction.prepare_cached(from_sql)?;
    let entries = |listing: &Listing| listing.objects.len() + listing.common_prefixes.len();
    'scan: loop {
        // Over-fetch by one: the (max_keys + 1)-th entry proves truncation without another query.
        let want = (query.max_keys + 1 - entries(&listing)) as i64;
        let (statement, position) = match &seek {
            Seek::After(key) => (&mut statement_after, key.as_slice()),
            Seek::From(key) => (&mut statement_from, key.as_slice()),
        };
        let mut rows = statement.query(params![
            query.bucket,
            TextBytes(position),
            TextBytes(&end),
            want
        ])?;
        let mut fetched = 0i64;
        while let Some(row) = rows.next()? {
            fetched += 1;
            let key: String = row.get(0)?;
            if let Some(delimiter) = delimiter {
                let rest = &key[query.prefix.len()..];
                if let Some(index) = rest.find(delimiter) {
                    let common = key[..query.prefix.len() + index + delimiter.len()].to_string();
                    let next = upper_bound(common.as_bytes());
                    let already_passed = query
                        .after
                        .as_deref()
                        .is_some_and(|after| common.as_str() <= after);
                    if !already_passed {
                        if entries(&listing) == query.max_keys {
                            listing.is_truncated = true;
                            break 'scan;
                        }
                        listing.common_prefixes.push(common);
                    }
                    // Skip every key under this prefix with one seek.
                    match next {
                        Some(next) => {
                            seek = Seek::From(next);
                            continue 'scan;
                        }
                        None => break 'scan,
                    }
                }
            }
            if entries(&listing) == query.max_keys {
                listing.is_truncated = true;
                break 'scan;
            }
            listing.objects.push(ObjectSummary {
                key,
                size_bytes: row.get::<_, i64>(1)? as u64,
                etag: row.get(2)?,
                last_modified_ms: row.get(3)?,
                owner: row.get(4)?,
                storage_class: if classes {
                    row.get_ref(5)?
                        .as_str()
                        .ok()
                        .and_then(super::object_rows::stored_storage_class)
                } else {
                    None
                },
            });
        }
        if fetched < want {
            break;
        }
        let last = last_entry(&listing).unwrap_or_default();
        seek = Seek::After(last.as_bytes().to_vec());
    }
    // The cursor, taken once from the page rather than copied on every row.
    listing.last = last_entry(&listing).map(str::to_owned);
    Ok(listing)
}

/// The page's last entry in key order: the greater of its last object key and its last common
/// prefix. (An object listed after a common prefix sorts after everything under it; one listed
/// before sorts before the prefix, or it would start with it and have been rolled into it.)
fn last_entry(listing: &Listing) -> Option<&str> {
    let object = listing.objects.last().map(|object| object.key.as_str());
    let prefix = listing.common_prefixes.last().map(String::as_str);
    object.max(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::store::tests::store_with_keys;

    fn page(
        keys: &[&str],
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max_keys: usize,
    ) -> Listing {
        let mut store = store_with_keys(keys);
        store.list_for_test(&ListQuery {
            bucket: "b".into(),
            prefix: prefix.into(),
            delimiter: delimiter.map(str::to_string),
            after: after.map(str::to_string),
            max_keys,
        })
    }

    fn keys(listing: &Listing) -> Vec<&str> {
        listing.objects.iter().map(|o| o.key.as_str()).collect()
    }

    #[test]
    fn plain_pages_and_truncation() {
        // Goal: pages follow byte order, truncation is exact, the cursor resumes after the last key.
        let all = ["a", "b", "c", "d"];
        let first = page(&all, "", None, None, 2);
        assert_eq!(keys(&first), ["a", "b"]);
        assert!(first.is_truncated);
        let second = page(&all, "", None, first.last.as_deref(), 2);
        assert_eq!(keys(&second), ["c", "d"]);
        assert!(!second.is_truncated);
        assert!(page(&all, "", None, None, 0).objects.is_empty());
        assert!(!page(&all, "", None, None, 4).is_truncated);
    }

    #[test]
    fn delimiter_rolls_up_and_skips() {
        // Goal: keys under one prefix become one CommonPrefix and never starve the page.
        let all = ["a/1", "a/2", "a/3", "b", "c/x/1", "c/y", "d"];
        let listing = page(&all, "", Some("/"), None, 3);
        assert_eq!(listing.common_prefixes, ["a/", "c/"]);
        assert_eq!(keys(&listing), ["b"]);
        assert!(listing.is_truncated);
        assert_eq!(listing.last.as_deref(), Some("c/"));
        let rest = page(&all, "", Some("/"), listing.last.as_deref(), 3);
        assert_eq!(keys(&rest), ["d"]);
        assert!(!rest.is_truncated);
        let listing = page(&all, "", Some("/"), None, 1000);
        assert_eq!(listing.common_prefixes, ["a/", "c/"]);
        assert_eq!(keys(&listing), ["b", "d"]);
        let nested = page(&all, "c/", Some("/"), None, 1000);
        assert_eq!(nested.common_prefixes, ["c/x/"]);
        assert_eq!(keys(&nested), ["c/y"]);
        // A cursor equal to a common prefix resumes after everything under it.
        let resumed = page(&all, "", Some("/"), Some("a/"), 1000);
        assert_eq!(resumed.common_prefixes, ["c/"]);
        assert_eq!(keys(&resumed), ["b", "d"]);
        // Multi-character delimiter.
        let dashes = page(&["x--1", "x--2", "y"], "", Some("--"), None, 1000);
        assert_eq!(dashes.common_prefixes, ["x--"]);
        assert_eq!(keys(&dashes), ["y"]);
    }

    #[test]
    fn utf8_byte_order_and_prefix_bounds() {
        // Goal: keys sort by UTF-8 bytes; a prefix scan stops at its byte bound.
        let all = ["a", "z", "é", "€", "日", "a\u{1}"];
        let listing = page(&all, "", None, None, 1000);
        assert_eq!(keys(&listing), ["a", "a\u{1}", "z", "é", "€", "日"]);
        assert_eq!(keys(&page(&all, "a", None, None, 1000)), ["a", "a\u{1}"]);
        assert_eq!(upper_bound(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(upper_bound(&[b'a', 0xFF]), Some(b"b".to_vec()));
        assert_eq!(upper_bound(&[0xFF]), None);
    }

    #[test]
    fn a_listing_stops_reading_at_the_end_of_its_prefix() {
        // Goal: a page that runs out of its prefix reads nothing after it. With the end bound
        // spelled `(? IS NULL OR key < ?)` SQLite could not end its scan there and read every
        // later key of the bucket (~40 ms for a 997-prefix page over 1,000,000 keys).
        let mut store = crate::meta::store::tests::store_with_a_short_prefix_then_many_keys();
        for delimiter in [None, Some("/".to_string())] {
            let listing = store.list_for_test(&ListQuery {
                bucket: "b".into(),
                prefix: "a/".into(),
                delimiter,
                after: None,
                max_keys: 1000,
            });
            assert_eq!(listing.objects.len(), 10);
            assert!(!listing.is_truncated);
        }
        // ~10 steps per row read: 20 rows (two listings) against 100,000 for a scan to the end.
        let steps = store.vm_steps_for_test(PAGE_FROM_SQL);
        // At least 20: the statement measured is the one the listings ran (20 rows read).
        assert!(
            (20..1_000).contains(&steps),
            "{steps} SQLite steps for two listings of 10 keys"
        );
    }
}
