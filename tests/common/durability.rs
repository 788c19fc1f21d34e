//! The durability workload and its model, shared by the crash loop (`kill -9` of the server) and
//! the power-cut harness (`kill -9` of the VM it runs in): writers that each own their keys, a
//! log of what each acknowledged operation left and what the one in flight would leave, and the
//! check of a restarted server against that log.
//!
//! Bucket `loop` (unversioned): PutObject (inline and file sizes, with user metadata and a CRC32C
//! checksum), CopyObject, two-part multipart uploads, DeleteObject and DeleteObjects. Bucket
//! `history` (Object Lock, so versioned): new versions (some under COMPLIANCE retention), delete
//! markers, and DeleteObject of one version.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, Delete,
    ObjectAttributes, ObjectIdentifier, ObjectLockMode,
};
use aws_sdk_s3::Client;

use super::{error_code, md5_hex, pattern};

/// The unversioned bucket.
pub const BUCKET: &str = "loop";
/// How long a caller waits for the disk to match `Checked` (files removed after an answer).
pub const DISK_SETTLE_SECONDS: u64 = 5;
/// The Object Lock bucket (versioning enabled by the lock).
pub const LOCKED_BUCKET: &str = "history";
/// Keys per writer.
const KEYS_PER_WRITER: u64 = 4;
/// Keys per writer in the Object Lock bucket.
const VERSIONED_KEYS_PER_WRITER: u64 = 2;
/// How long a COMPLIANCE retention set by the workload lasts (seconds): long enough to be
/// checked across several rounds, short enough that a long run's protected versions expire and
/// can be removed, keeping the bucket small.
const RETENTION_SECONDS: i64 = 600;
/// A retention this close to its date (seconds) is not relied on either way: the check does not
/// try a deletion it might allow, and the writer does not pick the version for removal.
const RETENTION_MARGIN_SECONDS: i64 = 60;
/// Versions (markers included) a key may gather before its writer removes one instead of
/// creating another.
const VERSIONS_PER_KEY_MAX: usize = 8;

/// What an unversioned key holds: its body's MD5 and `x-amz-meta-seq`, and the CRC32C the PUT
/// acknowledged (none for copies and multipart objects, whose checksums are not compared).
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    md5: String,
    seq: String,
    crc32c: Option<String>,
}

/// An unversioned key: absent or a body.
type State = Option<Stored>;

/// One key's log: the state after the last acknowledged operation and, if an operation was in
/// flight at the cut, the state it would have produced.
#[derive(Default, Clone, Debug)]
struct KeyLog {
    acknowledged: State,
    in_flight: Option<State>,
}

/// A version in the Object Lock bucket: an object's MD5 (None for a delete marker), its
/// COMPLIANCE retain-until date in seconds, and its place in the key's order of creation.
#[derive(Clone, Debug, PartialEq)]
struct Version {
    md5: Option<String>,
    retain_until_seconds: Option<i64>,
    sequence: u64,
}

impl Version {
    /// Whether a removal of this version may go through (no retention, or one long past).
    fn removable(&self) -> bool {
        self.retain_until_seconds
            .is_none_or(|until| until + RETENTION_MARGIN_SECONDS < now_seconds())
    }
}

/// What a versioned operation in flight would leave.
#[derive(Clone, Debug)]
enum VersionOp {
    /// A new version (object or marker) whose id the cut kept from us.
    Create(Version),
    /// The removal of this version.
    Remove(String),
}

/// One versioned key's log: the versions acknowledged (by id), the ones whose removal was
/// acknowledged, and the operation in flight.
#[derive(Default, Clone, Debug)]
struct VersionLog {
    versions: BTreeMap<String, Version>,
    removed: Vec<String>,
    in_flight: Option<VersionOp>,
    /// The last creation's `Version::sequence`.
    last_sequence: u64,
}

/// The client's log of every key, shared by the writers.
#[derive(Default, Clone)]
pub struct Log {
    keys: Arc<Mutex<HashMap<String, KeyLog>>>,
    versioned: Arc<Mutex<HashMap<String, VersionLog>>>,
    /// Operations acknowledged so far.
    acknowledged_count: Arc<AtomicUsize>,
}

/// What the check of a restarted server found, for the caller's look at the disk.
pub struct Checked {
    /// Object files the metadata references (file-backed objects' parts, unfinished uploads'
    /// parts, file-backed versions).
    pub files: usize,
    /// Objects whose bytes are inline in the metadata database.
    pub inline: usize,
    /// Live objects and versions (markers included) the check found.
    pub live: usize,
}

impl Log {
    /// Operations acknowledged so far (all rounds).
    pub fn acknowledged_count(&self) -> usize {
        self.acknowledged_count.load(Ordering::Relaxed)
    }

    fn begin(&self, key: &str, result: State) {
        self.keys
            .lock()
            .unwrap()
            .entry(key.to_string())
            .or_default()
            .in_flight = Some(result);
    }

    fn acknowledge(&self, key: &str, crc32c: Option<String>) {
        let mut keys = self.keys.lock().unwrap();
        let entry = keys.get_mut(key).unwrap();
        let mut state = entry.in_flight.take().unwrap();
        if let Some(stored) = state.as_mut() {
            stored.crc32c = stored.crc32c.take().or(crc32c);
        }
        entry.acknowledged = state;
    }

    fn acknowledged(&self, key: &str) -> State {
        self.keys
            .lock()
            .unwrap()
            .get(key)
            .and_then(|entry| entry.acknowledged.clone())
    }

    fn begin_version(&self, key: &str, mut op: VersionOp) {
        let mut versioned = self.versioned.lock().unwrap();
        let entry = versioned.entry(key.to_string()).or_default();
        if let VersionOp::Create(version) = &mut op {
            entry.last_sequence += 1;
            version.sequence = entry.last_sequence;
        }
        entry.in_flight = Some(op);
    }

    /// Versions (markers included) `key` holds.
    fn version_count(&self, key: &str) -> usize {
        self.versioned
            .lock()
            .unwrap()
            .get(key)
            .map_or(0, |entry| entry.versions.len())
    }

    fn acknowledge_version(&self, key: &str, created: Option<String>) {
        let mut versioned = self.versioned.lock().unwrap();
        let entry = versioned.get_mut(key).unwrap();
        match entry.in_flight.take().unwrap() {
            VersionOp::Create(version) => {
                entry
                    .versions
                    .insert(created.expect("a created version has an id"), version);
            }
            VersionOp::Remove(id) => {
                entry.versions.remove(&id);
                entry.removed.push(id);
            }
        }
    }

    /// A version of `key` that no retention protects, if any.
    fn removable_version(&self, key: &str, rng: &mut fastrand::Rng) -> Option<String> {
        let versioned = self.versioned.lock().unwrap();
        let ids: Vec<&String> = versioned
            .get(key)?
            .versions
            .iter()
            .filter(|(_, version)| version.removable())
            .map(|(id, _)| id)
            .collect();
        (!ids.is_empty()).then(|| ids[rng.usize(..ids.len())].clone())
    }
}

/// Creates the two buckets.
pub async fn create_buckets(s3: &Client) {
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3.create_bucket()
        .bucket(LOCKED_BUCKET)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn multipart(s3: &Client, key: &str, seq: &str, first: Vec<u8>, last: Vec<u8>) -> bool {
    let Ok(upload) = s3
        .create_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .metadata("seq", seq)
        .send()
        .await
    else {
        return false;
    };
    let upload_id = upload.upload_id().unwrap().to_string();
    let mut parts = Vec::new();
    for (number, body) in [(1, first), (2, last)] {
        let Ok(part) = s3
            .upload_part()
            .bucket(BUCKET)
            .key(key)
            .upload_id(&upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
        else {
            return false;
        };
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .e_tag(part.e_tag().unwrap())
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .is_ok()
}

/// A body of a random size: half small enough to be stored inline, half files.
fn random_body(rng: &mut fastrand::Rng, seed: u64) -> Vec<u8> {
    let size = if rng.bool() {
        rng.usize(0..20_000)
    } else {
        rng.usize(1..400_000)
    };
    pattern(size, seed)
}

/// Starts `count` writers of bucket `loop` and `versioned_count` of bucket `history`, writer
/// `id` seeded with `seed + id`; each ends at its first failed request (the cut).
pub fn spawn_writers(
    s3: &Client,
    log: &Log,
    count: u64,
    versioned_count: u64,
    seed: u64,
) -> Vec<tokio::task::JoinHandle<()>> {
    let plain = (0..count).map(|id| tokio::spawn(writer(s3.clone(), log.clone(), id, seed + id)));
    let versioned = (0..versioned_count)
        .map(|id| tokio::spawn(versioned_writer(s3.clone(), log.clone(), id, seed + id)));
    plain.chain(versioned).collect()
}

/// One writer of bucket `loop`: a random mix of operations on its own keys until an operation
/// fails (the cut).
pub async fn writer(s3: Client, log: Log, writer: u64, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for attempt in 0u64.. {
        let key = format!("w{writer}/k{}", rng.u64(..KEYS_PER_WRITER));
        let body_seed = seed * 1_000_000 + attempt;
        let seq = body_seed.to_string();
        let acknowledged: Result<Vec<(String, Option<String>)>, ()> = match rng.u8(..12) {
            0..=4 => {
                let body = random_body(&mut rng, body_seed);
                log.begin(
                    &key,
                    Some(Stored {
                        md5: md5_hex(&body),
                        seq: seq.clone(),
                        crc32c: None,
                    }),
                );
                s3.put_object()
                    .bucket(BUCKET)
                    .key(&key)
                    .metadata("seq", &seq)
                    .checksum_algorithm(ChecksumAlgorithm::Crc32C)
                    .body(ByteStream::from(body))
                    .send()
                    .await
                    .map(|put| vec![(key.clone(), put.checksum_crc32_c().map(str::to_string))])
                    .map_err(drop)
            }
            5..=6 => {
                let source = format!("w{writer}/k{}", rng.u64(..KEYS_PER_WRITER));
                let Some(source_state) = log.acknowledged(&source).filter(|_| source != key) else {
                    // Nothing to do with this key now; let the other tasks run before picking again.
                    tokio::task::yield_now().await;
                    continue;
                };
                // A copy takes the source's bytes and metadata; its checksum is not compared.
                log.begin(
                    &key,
                    Some(Stored {
                        crc32c: None,
                        ..source_state
                    }),
                );
                s3.copy_object()
                    .bucket(BUCKET)
                    .key(&key)
                    .copy_source(format!("{BUCKET}/{source}"))
                    .send()
                    .await
                    .map(|_| vec![(key.clone(), None)])
                    .map_err(drop)
            }
            7 => {
                let first = pattern(5 << 20, body_seed);
                let last = pattern(rng.usize(1..100_000), body_seed + 1);
                let whole = [first.as_slice(), last.as_slice()].concat();
                log.begin(
                    &key,
                    Some(Stored {
                        md5: md5_hex(&whole),
                        seq: seq.clone(),
                        crc32c: None,
                    }),
                );
                if multipart(&s3, &key, &seq, first, last).await {
                    Ok(vec![(key.clone(), None)])
                } else {
                    Err(())
                }
            }
            8 => {
                // DeleteObjects of two of this writer's keys.
                let other = format!("w{writer}/k{}", rng.u64(..KEYS_PER_WRITER));
                let keys: Vec<String> = if other == key {
                    vec![key.clone()]
                } else {
                    vec![key.clone(), other]
                };
                for key in &keys {
                    log.begin(key, None);
                }
                let objects = keys
                    .iter()
                    .map(|key| ObjectIdentifier::builder().key(key).build().unwrap())
                    .collect();
                match s3
                    .delete_objects()
                    .bucket(BUCKET)
                    .delete(
                        Delete::builder()
                            .set_objects(Some(objects))
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                {
                    Ok(output) if output.errors().is_empty() => {
                        Ok(keys.into_iter().map(|key| (key, None)).collect())
                    }
                    _ => Err(()),
                }
            }
            _ => {
                log.begin(&key, None);
                s3.delete_object()
                    .bucket(BUCKET)
                    .key(&key)
                    .send()
                    .await
                    .map(|_| vec![(key.clone(), None)])
                    .map_err(drop)
            }
        };
        let Ok(keys) = acknowledged else {
            return;
        };
        log.acknowledged_count.fetch_add(1, Ordering::Relaxed);
        for (key, crc32c) in keys {
            log.acknowledge(&key, crc32c);
        }
    }
}

/// One writer of the Object Lock bucket: new versions (a third under COMPLIANCE retention),
/// delete markers and removals of unprotected versions, until an operation fails (the cut).
pub async fn versioned_writer(s3: Client, log: Log, writer: u64, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x7e57);
    for attempt in 0u64.. {
        let key = format!("v{writer}/k{}", rng.u64(..VERSIONED_KEYS_PER_WRITER));
        // A key at its cap gets a removal instead of a new version, when one is allowed (all its
        // versions may be under retention for a while: then it grows past the cap).
        let at_cap = log.version_count(&key) >= VERSIONS_PER_KEY_MAX;
        let choice = if at_cap && log.removable_version(&key, &mut rng).is_some() {
            9
        } else {
            rng.u8(..10)
        };
        let created: Result<Option<String>, ()> = match choice {
            0..=5 => {
                let body = random_body(&mut rng, seed * 1_000_000 + attempt);
                let retain_until_seconds =
                    (rng.u8(..3) == 0).then(|| now_seconds() + RETENTION_SECONDS);
                log.begin_version(
                    &key,
                    VersionOp::Create(Version {
                        md5: Some(md5_hex(&body)),
                        retain_until_seconds,
                        sequence: 0,
                    }),
                );
                let mut put = s3.put_object().bucket(LOCKED_BUCKET).key(&key);
                if let Some(until) = retain_until_seconds {
                    put = put
                        .object_lock_mode(ObjectLockMode::Compliance)
                        .object_lock_retain_until_date(DateTime::from_secs(until));
                }
                put.body(ByteStream::from(body))
                    .send()
                    .await
                    .map(|put| put.version_id().map(str::to_string))
                    .map_err(drop)
            }
            6..=7 => {
                log.begin_version(
                    &key,
                    VersionOp::Create(Version {
                        md5: None,
                        retain_until_seconds: None,
                        sequence: 0,
                    }),
                );
                s3.delete_object()
                    .bucket(LOCKED_BUCKET)
                    .key(&key)
                    .send()
                    .await
                    .map(|marker| marker.version_id().map(str::to_string))
                    .map_err(drop)
            }
            _ => {
                let Some(id) = log.removable_version(&key, &mut rng) else {
                    // Nothing to do with this key now; let the other tasks run before picking again.
                    tokio::task::yield_now().await;
                    continue;
                };
                log.begin_version(&key, VersionOp::Remove(id.clone()));
                s3.delete_object()
                    .bucket(LOCKED_BUCKET)
                    .key(&key)
                    .version_id(&id)
                    .send()
                    .await
                    .map(|_| None)
                    .map_err(drop)
            }
        };
        let Ok(created) = created else {
            return;
        };
        log.acknowledged_count.fetch_add(1, Ordering::Relaxed);
        log.acknowledge_version(&key, created);
    }
}

/// Files and inline rows the metadata references for the live objects `keys` of bucket `loop`:
/// a file per part of each multipart object and per file-backed single-part object, an inline
/// row per small object.
async fn stored_objects(s3: &Client, keys: &[String]) -> (usize, usize) {
    let mut files = 0;
    let mut inline = 0;
    for key in keys {
        let attributes = s3
            .get_object_attributes()
            .bucket(BUCKET)
            .key(key)
            .object_attributes(ObjectAttributes::ObjectParts)
            .object_attributes(ObjectAttributes::ObjectSize)
            .send()
            .await
            .unwrap();
        let multipart = attributes.object_parts().is_some();
        let size = attributes.object_size().unwrap() as usize;
        if !multipart && size <= ringstore::limits::INLINE_OBJECT_BYTES_MAX_DEFAULT {
            inline += 1;
            continue;
        }
        files += attributes
            .object_parts()
            .and_then(|parts| parts.total_parts_count())
            .map(|parts| parts as usize)
            .unwrap_or(1);
    }
    (files, inline)
}

/// Aborts the uploads the cuts left unfinished in bucket `loop` (none was acknowledged, and a
/// long run would otherwise pile up their 5 MiB parts); after this no part file should remain.
async fn abort_unfinished_uploads(s3: &Client) {
    loop {
        let uploads = s3
            .list_multipart_uploads()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        if uploads.uploads().is_empty() {
            return;
        }
        for upload in uploads.uploads() {
            s3.abort_multipart_upload()
                .bucket(BUCKET)
                .key(upload.key().unwrap())
                .upload_id(upload.upload_id().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// What a GET returned, body read whole.
struct Fetched {
    seq: Option<String>,
    crc32c: Option<String>,
    retain_until_seconds: Option<i64>,
    body: Vec<u8>,
}

/// GETs `bucket/key` (a version, if given) with checksum mode on: the SDK checks the bytes
/// against the stored checksum when one comes back. A body that breaks off fails the check.
async fn fetch(
    s3: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Fetched, aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::get_object::GetObjectError>>
{
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_string))
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await?;
    let seq = object.metadata().and_then(|meta| meta.get("seq")).cloned();
    let crc32c = object.checksum_crc32_c().map(str::to_string);
    let retain_until_seconds = object
        .object_lock_retain_until_date()
        .map(|date| date.secs());
    let body = object
        .body
        .collect()
        .await
        .unwrap_or_else(|error| panic!("GET {bucket}/{key} {version_id:?}: body: {error:?}"));
    Ok(Fetched {
        seq,
        crc32c,
        retain_until_seconds,
        body: body.into_bytes().to_vec(),
    })
}

/// Checks bucket `loop` against the log: each key holds its last acknowledged state or the
/// state of the operation in flight at the cut — bytes, `x-amz-meta-seq` and the acknowledged
/// CRC32C — and the listing shows exactly the present keys. Adopts what it found as the next
/// round's acknowledged state. Returns the present keys.
async fn check_unversioned(s3: &Client, log: &Log, round: usize) -> Vec<String> {
    let snapshot = log.keys.lock().unwrap().clone();
    let mut present = Vec::new();
    let mut observed = Vec::new();
    for (key, entry) in &snapshot {
        let actual: State = match fetch(s3, BUCKET, key, None).await {
            Ok(fetched) => Some(Stored {
                md5: md5_hex(&fetched.body),
                seq: fetched.seq.unwrap_or_default(),
                crc32c: fetched.crc32c,
            }),
            Err(error) if error_code(&error).as_deref() == Some("NoSuchKey") => None,
            Err(error) => panic!("round {round}: GET {BUCKET}/{key}: {error:?}"),
        };
        let matches = |expected: &State| match (expected, &actual) {
            (None, None) => true,
            (Some(expected), Some(actual)) => {
                expected.md5 == actual.md5
                    && expected.seq == actual.seq
                    && (expected.crc32c.is_none() || expected.crc32c == actual.crc32c)
            }
            _ => false,
        };
        let allowed = matches(&entry.acknowledged) || entry.in_flight.as_ref().is_some_and(matches);
        assert!(
            allowed,
            "round {round}: {BUCKET}/{key} holds {actual:?}; acknowledged {:?}, in flight {:?}",
            entry.acknowledged, entry.in_flight
        );
        if actual.is_some() {
            present.push(key.clone());
        }
        // What the next round expects: the expected state that matched (keeping its CRC32C).
        let adopted = if matches(&entry.acknowledged) {
            entry.acknowledged.clone()
        } else {
            entry.in_flight.clone().unwrap()
        };
        observed.push((key.clone(), adopted));
    }
    {
        let mut keys = log.keys.lock().unwrap();
        for (key, state) in observed {
            let entry = keys.get_mut(&key).unwrap();
            entry.acknowledged = state;
            entry.in_flight = None;
        }
    }
    let mut listed = super::list_keys(s3, BUCKET).await;
    listed.sort();
    present.sort();
    assert_eq!(listed, present, "round {round}: listing and GETs disagree");
    present
}

/// Checks bucket `history` against the log: every acknowledged version is listed with its bytes
/// and its retention (and a COMPLIANCE-protected one still refuses deletion); every acknowledged
/// removal stays removed; a version nobody acknowledged is at most the one in flight. Returns
/// `(files, inline)` the versions hold.
async fn check_versioned(s3: &Client, log: &Log, round: usize) -> (usize, usize) {
    let snapshot = log.versioned.lock().unwrap().clone();
    let listing = list_versions(s3).await;
    // key → (version id → object size, or None for a marker)
    let mut listed: HashMap<String, BTreeMap<String, Option<i64>>> = HashMap::new();
    let mut latest: HashMap<String, String> = HashMap::new();
    for entry in &listing {
        listed
            .entry(entry.key.clone())
            .or_default()
            .insert(entry.version_id.clone(), entry.size);
        if entry.is_latest {
            let previous = latest.insert(entry.key.clone(), entry.version_id.clone());
            assert!(
                previous.is_none(),
                "round {round}: two latest versions of {LOCKED_BUCKET}/{}",
                entry.key
            );
        }
    }
    let mut files = 0;
    let mut inline = 0;
    let mut adopted = Vec::new();
    for (key, entry) in &snapshot {
        let mut found = listed.remove(key).unwrap_or_default();
        let mut next = entry.clone();
        next.in_flight = None;
        let removing = match &entry.in_flight {
            Some(VersionOp::Remove(id)) => Some(id),
            _ => None,
        };
        for (id, version) in &entry.versions {
            if Some(id) == removing {
                // Checked below: the removal in flight may or may not have happened.
                if found.contains_key(id) {
                    check_version(s3, key, id, version, round).await;
                }
                continue;
            }
            let listed_size = found.remove(id);
            assert!(
                listed_size.is_some(),
                "round {round}: acknowledged version {id} of {LOCKED_BUCKET}/{key} ({version:?}) is gone"
            );
            check_version(s3, key, id, version, round).await;
        }
        for id in &entry.removed {
            assert!(
                !found.contains_key(id),
                "round {round}: removed version {id} of {LOCKED_BUCKET}/{key} is back"
            );
        }
        match &entry.in_flight {
            Some(VersionOp::Remove(id)) if !found.contains_key(id) => {
                next.versions.remove(id);
                next.removed.push(id.clone());
            }
            Some(VersionOp::Remove(id)) => {
                found.remove(id);
            }
            Some(VersionOp::Create(version)) if found.len() == 1 => {
                let id = found.keys().next().unwrap().clone();
                check_version(s3, key, &id, version, round).await;
                found.clear();
                next.versions.insert(id, version.clone());
            }
            _ => {}
        }
        assert!(
            found.is_empty(),
            "round {round}: {LOCKED_BUCKET}/{key} has versions nobody wrote: {found:?}; log {entry:?}"
        );
        check_current(s3, key, &next, latest.get(key), round).await;
        adopted.push((key.clone(), next));
    }
    assert!(
        listed.is_empty(),
        "round {round}: {LOCKED_BUCKET} lists keys nobody wrote: {listed:?}"
    );
    for size in listing.iter().filter_map(|entry| entry.size) {
        if size as usize <= ringstore::limits::INLINE_OBJECT_BYTES_MAX_DEFAULT {
            inline += 1;
        } else {
            files += 1;
        }
    }
    let mut versioned = log.versioned.lock().unwrap();
    for (key, next) in adopted {
        versioned.insert(key, next);
    }
    (files, inline)
}

/// One entry of ListObjectVersions: a version (with its size) or a delete marker (without).
struct ListedVersion {
    key: String,
    version_id: String,
    size: Option<i64>,
    is_latest: bool,
}

/// Every version and delete marker of bucket `history`, page by page.
async fn list_versions(s3: &Client) -> Vec<ListedVersion> {
    let mut entries = Vec::new();
    let mut markers: (Option<String>, Option<String>) = (None, None);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(LOCKED_BUCKET)
            .set_key_marker(markers.0.take())
            .set_version_id_marker(markers.1.take())
            .send()
            .await
            .unwrap();
        for version in page.versions() {
            entries.push(ListedVersion {
                key: version.key().unwrap().to_string(),
                version_id: version.version_id().unwrap().to_string(),
                size: Some(version.size().unwrap_or_default()),
                is_latest: version.is_latest().unwrap_or(false),
            });
        }
        for marker in page.delete_markers() {
            entries.push(ListedVersion {
                key: marker.key().unwrap().to_string(),
                version_id: marker.version_id().unwrap().to_string(),
                size: None,
                is_latest: marker.is_latest().unwrap_or(false),
            });
        }
        if !page.is_truncated().unwrap_or(false) {
            return entries;
        }
        markers = (
            page.next_key_marker().map(str::to_string),
            page.next_version_id_marker().map(str::to_string),
        );
    }
}

/// The key's current version is its newest surviving one: the listing marks it latest, and a
/// GET without a version id returns its bytes (or 404 when it is a delete marker).
async fn check_current(
    s3: &Client,
    key: &str,
    log: &VersionLog,
    listed_latest: Option<&String>,
    round: usize,
) {
    let newest = log
        .versions
        .iter()
        .max_by_key(|(_, version)| version.sequence);
    assert_eq!(
        listed_latest,
        newest.map(|(id, _)| id),
        "round {round}: the latest version of {LOCKED_BUCKET}/{key}; log {log:?}"
    );
    let current = fetch(s3, LOCKED_BUCKET, key, None).await;
    match (
        newest.and_then(|(_, version)| version.md5.as_ref()),
        current,
    ) {
        (Some(md5), Ok(fetched)) => assert_eq!(
            &md5_hex(&fetched.body),
            md5,
            "round {round}: GET {LOCKED_BUCKET}/{key}"
        ),
        (None, Err(error)) => assert_eq!(
            error_code(&error).as_deref(),
            Some("NoSuchKey"),
            "round {round}: GET {LOCKED_BUCKET}/{key} under a marker or with no version"
        ),
        (expected, got) => panic!(
            "round {round}: GET {LOCKED_BUCKET}/{key}: expected {expected:?}, got {:?}",
            got.map(|_| "an object")
        ),
    }
}

/// One version holds what was acknowledged: a marker answers 405 to GET by id; an object has
/// its bytes, and its COMPLIANCE retention still holds.
async fn check_version(s3: &Client, key: &str, id: &str, version: &Version, round: usize) {
    let got = fetch(s3, LOCKED_BUCKET, key, Some(id)).await;
    match (&version.md5, got) {
        (None, Err(error)) => assert_eq!(
            error_code(&error).as_deref(),
            Some("MethodNotAllowed"),
            "round {round}: marker {id} of {key}"
        ),
        (Some(md5), Ok(fetched)) => {
            let retain_until = fetched.retain_until_seconds;
            let body = fetched.body;
            assert_eq!(
                &md5_hex(&body),
                md5,
                "round {round}: bytes of version {id} of {key}"
            );
            assert_eq!(
                retain_until, version.retain_until_seconds,
                "round {round}: retention of version {id} of {key}"
            );
            if version
                .retain_until_seconds
                .is_some_and(|until| until > now_seconds() + RETENTION_MARGIN_SECONDS)
            {
                let refused = s3
                    .delete_object()
                    .bucket(LOCKED_BUCKET)
                    .key(key)
                    .version_id(id)
                    .send()
                    .await
                    .expect_err("a COMPLIANCE version refuses deletion");
                assert_eq!(error_code(&refused).as_deref(), Some("AccessDenied"));
            }
        }
        (expected, got) => panic!(
            "round {round}: version {id} of {key}: expected {expected:?}, got {:?}",
            got.map(|_| "an object")
        ),
    }
}

/// Checks a restarted server against the log (both buckets) and adopts what it found.
///
/// Aborted uploads' part files are unlinked after the abort is answered, so a caller comparing
/// the disk with `Checked::files` waits a moment for them (`DISK_SETTLE_SECONDS`).
pub async fn check(s3: &Client, log: &Log, round: usize) -> Checked {
    // Every failure names its round, including a request that failed outright (a lost bucket
    // answers NoSuchBucket to the first listing): the regression check tells a loss found after
    // a cut from a harness that broke by that.
    match futures_lite::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(check_all(
        s3, log, round,
    )))
    .await
    {
        Ok(checked) => checked,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_default();
            if message.starts_with(&format!("round {round}")) {
                std::panic::resume_unwind(panic);
            }
            panic!("round {round}: {message}")
        }
    }
}

async fn check_all(s3: &Client, log: &Log, round: usize) -> Checked {
    abort_unfinished_uploads(s3).await;
    let present = check_unversioned(s3, log, round).await;
    let (mut files, mut inline) = stored_objects(s3, &present).await;
    let (version_files, version_inline) = check_versioned(s3, log, round).await;
    files += version_files;
    inline += version_inline;
    let live = present.len()
        + log
            .versioned
            .lock()
            .unwrap()
            .values()
            .map(|entry| entry.versions.len())
            .sum::<usize>();
    Checked {
        files,
        inline,
        live,
    }
}
