//! The optional local read cache of remote objects (`--tier-cache-mb`), on the tier threads: whole
//! upstream objects kept as files under `<data dir>/tier-cache/`, at most the configured bytes in
//! all, the least recently read evicted first. An upstream object's bytes never change (its name
//! is never reused: `RemoteObject`), so an entry is never stale; it is dropped when its object is
//! deleted upstream (`forget`). The index lives in memory only: the directory is emptied at each
//! start. Files are read and written with ordinary buffered I/O on blocking threads of the tier
//! runtime; no core touches them.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::limits::TIER_CACHE_OBJECT_SHARE;
use crate::object_bytes::{FileId, RemoteObject};

/// An entry's key: the tier and the object's id there.
type Key = (String, FileId);

/// What the cache holds, by key.
#[derive(Default)]
struct Index {
    entries: HashMap<Key, Entry>,
    /// Complete entries by their last read (oldest first): the eviction order.
    by_use: BTreeMap<u64, Key>,
    /// Bytes of complete entries and of fills under way (reserved at their start).
    used_bytes: u64,
    /// Counts reads, to order them.
    clock: u64,
}

struct Entry {
    size_bytes: u64,
    /// When it was last read (`Index::clock`); `None` while it is being filled.
    used: Option<u64>,
    /// Its object was deleted upstream while it was being filled: the fill is dropped.
    forgotten: bool,
}

/// The cache: its directory, its bound, its index.
pub struct ReadCache {
    directory: PathBuf,
    capacity_bytes: u64,
    index: Mutex<Index>,
}

impl ReadCache {
    /// A cache of at most `capacity_bytes` in `directory`, which is emptied (or made).
    pub fn open(directory: PathBuf, capacity_bytes: u64) -> io::Result<Arc<Self>> {
        match std::fs::remove_dir_all(&directory) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        std::fs::create_dir_all(&directory)?;
        Ok(Arc::new(ReadCache {
            directory,
            capacity_bytes,
            index: Mutex::new(Index::default()),
        }))
    }

    fn key(object: &RemoteObject) -> Key {
        (object.tier.clone(), object.object_id)
    }

    /// Where `object`'s complete copy is kept.
    fn path(&self, object: &RemoteObject) -> PathBuf {
        self.directory
            .join(format!("{}-{}", object.tier, object.object_id))
    }

    /// `object`'s copy, opened, if the cache holds it whole (it then counts as just read). The
    /// open file stays readable even if the entry is evicted meanwhile. Files are opened,
    /// renamed and removed under the index's lock, so the index and the directory agree.
    pub fn open_copy(&self, object: &RemoteObject) -> Option<std::fs::File> {
        let mut index = self.index.lock().expect("read cache");
        let index = &mut *index;
        let key = Self::key(object);
        let last = index.entries.get(&key)?.used?;
        index.by_use.remove(&last);
        match std::fs::File::open(self.path(object)) {
            Ok(file) => {
                index.clock += 1;
                index.by_use.insert(index.clock, key.clone());
                if let Some(entry) = index.entries.get_mut(&key) {
                    entry.used = Some(index.clock);
                }
                Some(file)
            }
            Err(_) => {
                // Gone from the disk (removed by hand): forget it, so it can be filled again.
                let entry = index.entries.remove(&key).expect("looked up above");
                index.used_bytes -= entry.size_bytes;
                None
            }
        }
    }

    /// Starts filling `object` (`size_bytes` long) if it is worth caching and not cached or being
    /// filled already: its space is reserved now, evicting the least recently read entries.
    /// `None`: not this one (too large a share of the cache, or the space is held by fills).
    pub fn start_fill(self: &Arc<Self>, object: &RemoteObject, size_bytes: u64) -> Option<Fill> {
        if size_bytes == 0 || size_bytes > self.capacity_bytes / TIER_CACHE_OBJECT_SHARE {
            return None;
        }
        let key = Self::key(object);
        let mut index = self.index.lock().expect("read cache");
        if index.entries.contains_key(&key) {
            return None;
        }
        while index.used_bytes + size_bytes > self.capacity_bytes {
            let Some((_, oldest)) = index.by_use.pop_first() else {
                return None; // the rest is reserved by fills under way
            };
            let entry = index.entries.remove(&oldest).expect("indexed entry");
            index.used_bytes -= entry.size_bytes;
            let (tier, object_id) = oldest;
            let _ = std::fs::remove_file(self.path(&RemoteObject { tier, object_id }));
        }
        index.used_bytes += size_bytes;
        index.entries.insert(
            key,
            Entry {
                size_bytes,
                used: None,
                forgotten: false,
            },
        );
        Some(Fill {
            cache: self.clone(),
            object: object.clone(),
            size_bytes,
            done: false,
        })
    }

    /// Drops `object`'s copy (its upstream object was deleted); a fill under way is dropped when
    /// it completes.
    pub fn forget(&self, object: &RemoteObject) {
        let mut index = self.index.lock().expect("read cache");
        let index = &mut *index;
        let key = Self::key(object);
        let Some(entry) = index.entries.get_mut(&key) else {
            return;
        };
        let Some(used) = entry.used else {
            entry.forgotten = true;
            return;
        };
        index.used_bytes -= entry.size_bytes;
        index.by_use.remove(&used);
        index.entries.remove(&key);
        let _ = std::fs::remove_file(self.path(object));
    }
}

/// A fill under way: the file its bytes are written to. Dropped without `complete`, it is
/// removed and its space freed.
pub struct Fill {
    cache: Arc<ReadCache>,
    object: RemoteObject,
    size_bytes: u64,
    done: bool,
}

impl Fill {
    /// The file the bytes go to, until `complete`.
    pub fn temp_path(&self) -> PathBuf {
        self.cache.directory.join(format!(
            "{}-{}.filling",
            self.object.tier, self.object.object_id
        ))
    }

    /// The object's whole size, in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Makes the filled copy (all `size_bytes` written to `temp_path`) the entry, unless its
    /// object was deleted meanwhile.
    pub fn complete(mut self) -> io::Result<()> {
        let cache = self.cache.clone();
        let mut index = cache.index.lock().expect("read cache");
        let index = &mut *index;
        let key = ReadCache::key(&self.object);
        if index.entries.get(&key).is_none_or(|entry| entry.forgotten) {
            return Ok(()); // dropped below (`Drop`), with its file and its space
        }
        std::fs::rename(self.temp_path(), cache.path(&self.object))?;
        index.clock += 1;
        let clock = index.clock;
        if let Some(entry) = index.entries.get_mut(&key) {
            entry.used = Some(clock);
        }
        index.by_use.insert(clock, key);
        self.done = true;
        Ok(())
    }
}

impl Drop for Fill {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut index = self.cache.index.lock().expect("read cache");
        let _ = std::fs::remove_file(self.temp_path());
        if index
            .entries
            .remove(&ReadCache::key(&self.object))
            .is_some()
        {
            index.used_bytes -= self.size_bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: u128) -> RemoteObject {
        RemoteObject {
            tier: "COLD".into(),
            object_id: FileId(id),
        }
    }

    fn fill(cache: &Arc<ReadCache>, id: u128, size_bytes: usize) -> bool {
        let Some(fill) = cache.start_fill(&object(id), size_bytes as u64) else {
            return false;
        };
        std::fs::write(fill.temp_path(), vec![id as u8; size_bytes]).unwrap();
        fill.complete().unwrap();
        true
    }

    // Goal: entries are served whole; the least recently read is evicted to make room; objects
    // over a quarter of the cache, entries being filled, and abandoned fills are never served;
    // `forget` frees an entry.
    #[test]
    fn keeps_the_most_recently_read_within_its_bound() {
        let directory = tempfile::tempdir().unwrap();
        let cache = ReadCache::open(directory.path().join("cache"), 400).unwrap();
        assert!(!fill(&cache, 9, 101), "over a quarter of the cache");
        for id in 1..=4 {
            assert!(fill(&cache, id, 100));
        }
        assert!(cache.open_copy(&object(1)).is_some()); // 2 is now the least recently read
        assert!(fill(&cache, 5, 100));
        assert!(cache.open_copy(&object(2)).is_none());
        for id in [1, 3, 4, 5] {
            let copy = std::fs::read(cache.path(&object(id))).unwrap();
            assert_eq!(copy, vec![id as u8; 100]);
        }
        let pending = cache.start_fill(&object(6), 100).unwrap();
        assert!(
            cache.start_fill(&object(6), 100).is_none(),
            "one fill at a time"
        );
        assert!(cache.open_copy(&object(6)).is_none(), "not complete");
        drop(pending);
        assert!(cache.open_copy(&object(6)).is_none());
        cache.forget(&object(5));
        assert!(cache.open_copy(&object(5)).is_none());
        assert!(!cache.path(&object(5)).exists());
        // An object deleted while it is being filled is not kept.
        let filling = cache.start_fill(&object(7), 100).unwrap();
        std::fs::write(filling.temp_path(), vec![7u8; 100]).unwrap();
        cache.forget(&object(7));
        filling.complete().unwrap();
        assert!(cache.open_copy(&object(7)).is_none());
        assert!(!cache.path(&object(7)).exists());
        // A copy removed from the disk by hand is forgotten, so it can be filled again.
        std::fs::remove_file(cache.path(&object(4))).unwrap();
        assert!(cache.open_copy(&object(4)).is_none());
        assert!(fill(&cache, 4, 100));
        let index = cache.index.lock().unwrap();
        assert_eq!(
            index.used_bytes, 200,
            "1 and 4 (3 was evicted for the fill of 6)"
        );
        assert_eq!(index.entries.len(), 2);
        assert_eq!(index.by_use.len(), 2);
    }
}
