//! ListMultipartUploads: a bucket's unfinished uploads in (key, upload id) order, with
//! delimiter roll-up (one seek past each common prefix) and the key / upload-id markers.

use rusqlite::{params, Transaction};

use super::command::{Changes, MetaCommand};
use super::multipart::{upload_from_row, UploadRecord};
use super::MetaError;

/// What ListMultipartUploads asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadsQuery {
    /// Bucket.
    pub bucket: String,
    /// Key prefix.
    pub prefix: String,
    /// Roll keys up at this.
    pub delimiter: Option<String>,
    /// Resume after this key (and upload id marker).
    pub key_marker: String,
    /// With `key_marker`: resume after this upload of that key.
    pub upload_id_marker: String,
    /// Page size.
    pub max_uploads: usize,
}

/// One page of uploads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UploadsPage {
    /// Uploads in (key, upload id) order.
    pub uploads: Vec<UploadRecord>,
    /// Common prefixes.
    pub common_prefixes: Vec<String>,
    /// More follow.
    pub is_truncated: bool,
}

/// A page of uploads from `(key, upload_id)` after `?2, ?3` to the prefix's end `?4`: a range of
/// the `uploads_by_key` index, read from its start and no further than the page needs (an OR of
/// key comparisons, or a prefix tested by `substr`, made SQLite read the bucket's every upload).
pub(crate) const UPLOADS_PAGE_SQL: &str = concat!(
    "SELECT upload_id, bucket, key, owner, created_ms, content_type, headers, ",
    "checksum_algorithm, checksum_full_object, acl, object_lock, tags FROM uploads ",
    "WHERE bucket = ?1 AND (key, upload_id) > (?2, ?3) AND key < ?4 ORDER BY key, upload_id"
);

/// ListUploads, with roll-up of common prefixes.
fn list_uploads(
    transaction: &Transaction<'_>,
    query: &UploadsQuery,
) -> Result<UploadsPage, MetaError> {
    let mut statement = transaction.prepare_cached(UPLOADS_PAGE_SQL)?;
    // After the marker's key — and only its uploads after `upload-id-marker`, when one is given
    // (S3 API Reference, ListMultipartUploads) — but never before the prefix.
    let marker_upload = if query.upload_id_marker.is_empty() {
        "\u{10FFFF}"
    } else {
        query.upload_id_marker.as_str()
    };
    let (after_key, mut after_upload) = if query.key_marker.as_str() >= query.prefix.as_str() {
        (query.key_marker.as_str(), marker_upload)
    } else {
        // Upload ids are never empty: (prefix, "") is before every upload under the prefix.
        (query.prefix.as_str(), "")
    };
    let end = super::listing::prefix_end(query.prefix.as_bytes());
    let delimiter = query.delimiter.as_deref().filter(|d| !d.is_empty());
    let mut from: Vec<u8> = after_key.as_bytes().to_vec();
    let mut page = UploadsPage::default();
    'scan: loop {
        let mut rows = statement.query(params![
            query.bucket,
            super::listing::TextBytes(&from),
            after_upload,
            super::listing::TextBytes(&end)
        ])?;
        while let Some(row) = rows.next()? {
            let upload = upload_from_row(row)?;
            let entry_count = page.uploads.len() + page.common_prefixes.len();
            if let Some(delimiter) = delimiter {
                let rest = &upload.key[query.prefix.len()..];
                if let Some(index) = rest.find(delimiter) {
                    let common =
                        upload.key[..query.prefix.len() + index + delimiter.len()].to_string();
                    if common.as_str() > query.key_marker.as_str() {
                        if entry_count == query.max_uploads {
                            page.is_truncated = true;
                            break 'scan;
                        }
                        page.common_prefixes.push(common.clone());
                    }
                    // Every other upload under the prefix with one seek, instead of reading each.
                    match super::listing::upper_bound(common.as_bytes()) {
                        Some(next) => {
                            from = next;
                            // Upload ids are never empty: (next, "") is before all of `next`'s.
                            after_upload = "";
                            continue 'scan;
                        }
                        None => break 'scan,
                    }
                }
            }
            if entry_count == query.max_uploads {
                page.is_truncated = true;
                break 'scan;
            }
            page.uploads.push(upload);
        }
        break;
    }
    Ok(page)
}

/// One page of a bucket's uploads.
#[derive(Debug)]
pub struct ListUploads {
    /// What the page asks.
    pub query: UploadsQuery,
}

impl MetaCommand for ListUploads {
    type Reply = UploadsPage;

    fn apply(&self, transaction: &Transaction<'_>) -> Result<UploadsPage, MetaError> {
        list_uploads(transaction, &self.query)
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::multipart::tests::upload;
    use crate::meta::store::tests::create_bucket;
    use crate::meta::MetaStore;

    fn list(
        store: &mut MetaStore,
        prefix: &str,
        key_marker: &str,
        upload_id_marker: &str,
    ) -> UploadsPage {
        store
            .apply(&ListUploads {
                query: UploadsQuery {
                    bucket: "b".into(),
                    prefix: prefix.into(),
                    delimiter: None,
                    key_marker: key_marker.into(),
                    upload_id_marker: upload_id_marker.into(),
                    max_uploads: 3,
                },
            })
            .unwrap()
    }

    // Goal: a page of ListMultipartUploads reads the uploads it returns, not the bucket's every
    // upload before its marker or after its prefix; markers and prefixes keep S3's meaning.
    #[test]
    fn an_uploads_page_reads_only_its_range() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        store.apply(&create_bucket("b")).unwrap();
        let mut creates = vec![
            upload("a/1", "u1"),
            upload("a/1", "u2"),
            upload("a/2", "u3"),
        ];
        creates
            .extend((0..5_000).map(|index| upload(&format!("z/{index:05}"), &format!("v{index}"))));
        for reply in store.apply_all(&creates) {
            reply.unwrap();
        }
        let keys = |page: &UploadsPage| -> Vec<(String, String)> {
            page.uploads
                .iter()
                .map(|u| (u.key.clone(), u.upload_id.clone()))
                .collect()
        };
        let page = list(&mut store, "a/", "", "");
        assert_eq!(
            keys(&page),
            [
                ("a/1".into(), "u1".into()),
                ("a/1".into(), "u2".into()),
                ("a/2".into(), "u3".into())
            ]
        );
        assert!(!page.is_truncated);
        // After key a/1's upload u1 only; after key a/1 (no upload marker) its every upload.
        assert_eq!(keys(&list(&mut store, "a/", "a/1", "u1")).len(), 2);
        assert_eq!(
            keys(&list(&mut store, "a/", "a/1", "")),
            [("a/2".into(), "u3".into())]
        );
        // A marker before the prefix starts at the prefix.
        assert_eq!(
            keys(&list(&mut store, "z/", "a/", "")).first().unwrap().0,
            "z/00000"
        );
        let late = list(&mut store, "", "z/04990", "");
        assert_eq!(late.uploads[0].key, "z/04991");
        assert!(late.is_truncated);
        // Five pages, each a few rows: a scan of the bucket's uploads would be 50,000+ steps.
        let steps = store.vm_steps_for_test(UPLOADS_PAGE_SQL);
        assert!(
            (10..2_000).contains(&steps),
            "{steps} SQLite steps for five small pages"
        );
    }

    // Goal: with a delimiter, each common prefix costs one seek past its uploads, whether it is
    // listed or lies before the key marker; the uploads beside the prefixes are listed as before.
    // (Read one by one, the 5,000 uploads under z/ were 5,000 rows for one entry of the page.)
    #[test]
    fn a_common_prefix_of_uploads_is_passed_with_one_seek() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = MetaStore::open(&directory.path().join("meta.sqlite")).unwrap();
        store.apply(&create_bucket("b")).unwrap();
        let mut creates = vec![upload("a/1", "u1"), upload("a/2", "u2"), upload("m", "u3")];
        creates
            .extend((0..5_000).map(|index| upload(&format!("z/{index:05}"), &format!("v{index}"))));
        for reply in store.apply_all(&creates) {
            reply.unwrap();
        }
        let list = |store: &mut MetaStore, key_marker: &str| {
            let page = store
                .apply(&ListUploads {
                    query: UploadsQuery {
                        bucket: "b".into(),
                        prefix: String::new(),
                        delimiter: Some("/".into()),
                        key_marker: key_marker.into(),
                        upload_id_marker: String::new(),
                        max_uploads: 1_000,
                    },
                })
                .unwrap();
            let uploads: Vec<String> = page.uploads.iter().map(|u| u.key.clone()).collect();
            (page.common_prefixes, uploads, page.is_truncated)
        };
        let before = store.vm_steps_for_test(UPLOADS_PAGE_SQL);
        assert_eq!(
            list(&mut store, ""),
            (vec!["a/".into(), "z/".into()], vec!["m".into()], false)
        );
        // A marker inside z/: the prefix was listed on an earlier page and is passed.
        assert_eq!(
            list(&mut store, "z/00010"),
            (Vec::<String>::new(), Vec::<String>::new(), false)
        );
        let steps = store.vm_steps_for_test(UPLOADS_PAGE_SQL) - before;
        assert!(
            steps < 500,
            "{steps} SQLite steps for two pages of three entries"
        );
    }
}
