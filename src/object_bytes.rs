//! Names for an object's bytes that both `storage` (which holds them) and `meta` (which records
//! where they are) use: `FileId`, `InlineBytes` and `StoredBytes`. Depends on nothing.

use std::fmt;
use std::sync::Arc;

/// The internal, random identity of one stored file (128 bits, shown as 32 hex digits). Bits
/// 120–127 pick the fan-out directory; bits 88–119 are the run tag of the process that made it;
/// the other 88 bits are random.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId(pub u128);

/// Where the run tag sits in a file id (below the directory index).
const RUN_TAG_SHIFT: u32 = 88;
const RUN_TAG_MASK: u128 = (u32::MAX as u128) << RUN_TAG_SHIFT;

/// This process's run tag: drawn once, so the startup scrub can tell files this run made (a
/// write between its rename and its commit looks unreferenced) from an earlier run's leftovers,
/// without trusting clocks or file times. Two runs share a tag with odds of 2^-32, and then the
/// earlier run's orphans merely wait for a later start.
fn run_tag() -> u32 {
    static RUN_TAG: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *RUN_TAG.get_or_init(|| fastrand::u32(..))
}

impl FileId {
    /// A fresh random id, carrying this process's run tag.
    pub fn random() -> Self {
        FileId((fastrand::u128(..) & !RUN_TAG_MASK) | (u128::from(run_tag()) << RUN_TAG_SHIFT))
    }

    /// A random id as an earlier run of the server made it: for tests and benchmarks, which
    /// make a crash's leftovers with it. Never for files the server writes (the startup scrub
    /// would take an in-flight one for an orphan).
    #[doc(hidden)]
    pub fn random_from_earlier_run() -> Self {
        FileId((fastrand::u128(..) & !RUN_TAG_MASK) | (u128::from(run_tag() ^ 1) << RUN_TAG_SHIFT))
    }

    /// Whether this process made the id (`random`).
    pub fn is_from_this_run(self) -> bool {
        (self.0 & RUN_TAG_MASK) >> RUN_TAG_SHIFT == u128::from(run_tag())
    }

    /// Parses the 32-hex-digit form.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 32 {
            return None;
        }
        u128::from_str_radix(text, 16).ok().map(FileId)
    }

    /// Index of the fan-out directory holding this file.
    pub fn dir_index(self) -> usize {
        (self.0 >> 120) as usize
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// The bytes of an object stored inline; cheap to clone (shared), printed by length only.
/// An `Arc<Vec>`, not an `Arc<[u8]>`: wrapping the buffer a read or an upload filled costs no copy.
#[derive(Clone, PartialEq, Eq)]
pub struct InlineBytes(Arc<Vec<u8>>);

impl InlineBytes {
    /// Wraps bytes already read.
    pub fn new(bytes: Vec<u8>) -> Self {
        InlineBytes(Arc::new(bytes))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The shared buffer itself (for a response body that sends these bytes without a copy).
    pub fn shared(&self) -> Arc<Vec<u8>> {
        self.0.clone()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the object is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for InlineBytes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "InlineBytes({} bytes)", self.0.len())
    }
}

/// Where a published object's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredBytes {
    /// A durable object file.
    File(FileId),
    /// Bytes to store in the metadata row (durable once that commits).
    Inline(InlineBytes),
}

/// Where a moved object's bytes are: one object of a remote tier, named by an id of its own
/// (issue 24). Upstream it is `<tier prefix>/<node id>/<object id>`; ringstore's metadata keeps
/// everything else about the object (ETag, checksums, headers, versions, locks).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RemoteObject {
    /// The tier's name (`--tier NAME=URL`).
    pub tier: String,
    /// The object's id upstream: the id of the file (or first part file) it was moved from, so
    /// a move repeated after a crash writes the same name again instead of leaving an orphan.
    pub object_id: FileId,
}

impl RemoteObject {
    /// Separates the id from the tier in the `file_id` column's text (`<id>@<tier>`); tier names
    /// are `[A-Z0-9_]`, so it cannot occur in either part.
    const SEPARATOR: char = '@';

    /// The `file_id` column's text for a moved object: `<32 hex digits>@<tier>`.
    pub fn encode(&self) -> String {
        format!("{}{}{}", self.object_id, Self::SEPARATOR, self.tier)
    }

    /// Parses `encode`'s text; `None` for a local file id or an inline object's ''.
    pub fn parse(text: &str) -> Option<Self> {
        let (id, tier) = text.split_once(Self::SEPARATOR)?;
        Some(RemoteObject {
            tier: tier.to_string(),
            object_id: FileId::parse(id)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_this_runs_tag_and_stay_random() {
        // Goal: fresh ids are this run's and differ (directory bits included); an earlier run's
        // are not this run's; parsing keeps the tag.
        let ids: Vec<FileId> = (0..1_000).map(|_| FileId::random()).collect();
        assert!(ids.iter().all(|id| id.is_from_this_run()));
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        let directories: std::collections::HashSet<_> =
            ids.iter().map(|id| id.dir_index()).collect();
        assert!(directories.len() > 200, "{}", directories.len());
        let earlier = FileId::random_from_earlier_run();
        assert!(!earlier.is_from_this_run());
        assert!(FileId::parse(&ids[0].to_string())
            .unwrap()
            .is_from_this_run());
        assert!(!FileId::parse(&earlier.to_string())
            .unwrap()
            .is_from_this_run());
    }
}
