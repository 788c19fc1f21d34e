//! Streams a plaintext byte range of an encrypted object: reads only the packages the range
//! touches (through `ObjectReader`, so the read path and read-ahead are the same as for plain
//! objects; or, for a version moved to a remote tier, from a `ChunkSource` streaming the same
//! stored bytes), opens them a few at a time in one reused buffer, and hands out their plaintext
//! as one block. A package that fails authentication ends the stream with an error: never a
//! wrong byte.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;

use bytes::Bytes;
use glommio::io::ReadResult;

use super::encryption::{
    encrypted_size, package_count, package_extent, PackageCipher, PACKAGE_BYTES,
    PACKAGE_PLAINTEXT_BYTES, TAG_BYTES,
};

/// Packages opened per block handed out: about 256 KiB of plaintext, the size of a cached read's
/// block, so a large encrypted GET reaches its socket in blocks as large as a plain one's
/// (one package per block made a 64 MiB GET spend measurably more per byte).
const PACKAGES_PER_BLOCK: usize = 4;
use super::{FileId, Layout, ObjectReader, Segment};

/// One encrypted file of an object: its plaintext size and the cipher its packages were sealed with.
pub struct EncryptedSegment {
    /// The file.
    pub id: FileId,
    /// Plaintext bytes it holds.
    pub plaintext_bytes: u64,
    /// Its packages' cipher.
    pub cipher: PackageCipher,
}

/// The packages still to read of one segment.
struct Cursor {
    id: FileId,
    cipher: PackageCipher,
    plaintext_bytes: u64,
    next_index: u64,
    last_index: u64,
}

/// Stored bytes arriving from elsewhere than the local files (a remote tier's stream), chunk by
/// chunk, on the core that reads them.
pub trait ChunkSource {
    /// Bytes not yet received.
    fn remaining(&self) -> u64;
    /// The next chunk (not empty while bytes remain).
    fn next_chunk(&mut self) -> Pin<Box<dyn Future<Output = io::Result<Bytes>> + '_>>;
}

/// Where the stored bytes come from.
// Local is the common case and lives as long as the reader: boxing it would cost an allocation
// per encrypted GET to save a few hundred bytes of one reader.
#[allow(clippy::large_enum_variant)]
enum Source {
    Local(ObjectReader),
    Remote(Box<dyn ChunkSource>),
}

impl Source {
    fn remaining(&self) -> u64 {
        match self {
            Source::Local(reader) => reader.remaining(),
            Source::Remote(source) => source.remaining(),
        }
    }

    async fn next_block(&mut self) -> io::Result<Block> {
        Ok(match self {
            Source::Local(reader) => Block::Local(reader.next_block().await?),
            Source::Remote(source) => Block::Remote(source.next_chunk().await?),
        })
    }
}

/// A block of stored bytes as its source gave it.
enum Block {
    Local(ReadResult),
    Remote(Bytes),
}

impl std::ops::Deref for Block {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Block::Local(block) => block,
            Block::Remote(bytes) => bytes,
        }
    }
}

/// Which stored bytes a plaintext range needs, and how to open them: the stored range
/// (`stored_start`, `stored_length`, within the object's `stored_total` bytes: its segments'
/// files one after the other, or the one remote object they became), the packages to open per
/// segment, and the plaintext to skip in the first.
pub struct StoredRange {
    /// The segments' files and stored sizes.
    stored: Vec<Segment>,
    /// First stored byte needed.
    pub stored_start: u64,
    /// Stored bytes needed.
    pub stored_length: u64,
    /// The whole object's stored size, in bytes.
    pub stored_total: u64,
    cursors: VecDeque<Cursor>,
    skip: u64,
    length: u64,
}

/// A plaintext range of an encrypted object, decrypted as it is read.
pub struct DecryptingReader {
    inner: Source,
    cursors: VecDeque<Cursor>,
    /// The block `inner` read last and how much of it is used.
    pending: Option<(Block, usize)>,
    /// Packages being opened: each is read in at the end of the plaintext before it (over the
    /// previous one's tag) and opened in place, so the plaintext ends up contiguous.
    package: Vec<u8>,
    shown: std::ops::Range<usize>,
    /// Plaintext bytes of the first package before the range.
    skip: u64,
    remaining: u64,
}

impl DecryptingReader {
    /// Opens plaintext bytes `start..start + length` of the object made of `segments` (in
    /// order). `NotFound` means a file was replaced or deleted since the metadata was read.
    pub async fn open(
        layout: &Layout,
        segments: Vec<EncryptedSegment>,
        start: u64,
        length: u64,
    ) -> io::Result<Self> {
        let range = Self::stored_range(segments, start, length);
        let inner = ObjectReader::open_segments(
            layout,
            &range.stored,
            range.stored_start,
            range.stored_length,
        )
        .await?;
        Ok(Self::over(range, Source::Local(inner)))
    }

    /// Decrypts `range` from `source`, which streams exactly its stored bytes
    /// (`range.stored_start`, `range.stored_length` of the object's stored bytes).
    pub fn open_remote(range: StoredRange, source: Box<dyn ChunkSource>) -> Self {
        Self::over(range, Source::Remote(source))
    }

    fn over(range: StoredRange, inner: Source) -> Self {
        DecryptingReader {
            inner,
            cursors: range.cursors,
            pending: None,
            package: Vec::with_capacity(PACKAGES_PER_BLOCK * PACKAGE_PLAINTEXT_BYTES + TAG_BYTES),
            shown: 0..0,
            skip: range.skip,
            remaining: range.length,
        }
    }

    /// The stored bytes plaintext bytes `start..start + length` of the object made of
    /// `segments` (in order) need.
    pub fn stored_range(segments: Vec<EncryptedSegment>, start: u64, length: u64) -> StoredRange {
        let end = start + length;
        let mut stored = Vec::with_capacity(segments.len());
        let mut cursors = VecDeque::new();
        let (mut plaintext_offset, mut stored_offset) = (0u64, 0u64);
        let (mut stored_start, mut stored_end) = (None, 0u64);
        let mut skip = 0;
        for segment in segments {
            let stored_bytes = encrypted_size(segment.plaintext_bytes);
            stored.push(Segment {
                id: segment.id,
                size_bytes: stored_bytes,
            });
            let segment_end = plaintext_offset + segment.plaintext_bytes;
            let touched = length > 0
                && plaintext_offset < end
                && (segment_end > start
                    || (segment.plaintext_bytes == 0 && plaintext_offset > start));
            if touched {
                let first_index = if start > plaintext_offset {
                    (start - plaintext_offset) / PACKAGE_PLAINTEXT_BYTES as u64
                } else {
                    0
                };
                let last_index = if end < segment_end {
                    (end - 1 - plaintext_offset) / PACKAGE_PLAINTEXT_BYTES as u64
                } else {
                    package_count(segment.plaintext_bytes) - 1
                };
                if stored_start.is_none() {
                    stored_start = Some(stored_offset + first_index * PACKAGE_BYTES as u64);
                    skip = start - plaintext_offset - first_index * PACKAGE_PLAINTEXT_BYTES as u64;
                }
                let (last_start, last_length, _) =
                    package_extent(last_index, segment.plaintext_bytes);
                stored_end = stored_offset + last_start + last_length;
                cursors.push_back(Cursor {
                    id: segment.id,
                    cipher: segment.cipher,
                    plaintext_bytes: segment.plaintext_bytes,
                    next_index: first_index,
                    last_index,
                });
            }
            plaintext_offset = segment_end;
            stored_offset += stored_bytes;
        }
        let stored_start = stored_start.unwrap_or(0);
        StoredRange {
            stored,
            stored_start,
            stored_length: stored_end.saturating_sub(stored_start),
            stored_total: stored_offset,
            cursors,
            skip,
            length,
        }
    }

    /// Plaintext bytes not yet returned.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Reads `want` stored bytes into the buffer from offset `at` (what follows is dropped).
    async fn fill_package(&mut self, at: usize, want: usize) -> io::Result<()> {
        self.package.truncate(at);
        while self.package.len() < at + want {
            let (block, used) = match self.pending.take() {
                Some(pending) => pending,
                // The stored range ends where the last package does; reading past it would be
                // a layout bug, answered as a short object rather than a panic.
                None if self.inner.remaining() == 0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "encrypted object shorter than its metadata",
                    ))
                }
                None => (self.inner.next_block().await?, 0),
            };
            if block.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "encrypted object shorter than its metadata",
                ));
            }
            let take = (at + want - self.package.len()).min(block.len() - used);
            self.package.extend_from_slice(&block[used..used + take]);
            if used + take < block.len() {
                self.pending = Some((block, used + take));
            }
        }
        Ok(())
    }

    /// Decrypts the next packages of the range, up to `PACKAGES_PER_BLOCK` (see
    /// `current_block`); empty at the end.
    pub async fn advance(&mut self) -> io::Result<()> {
        self.shown = 0..0;
        let (mut start, mut end) = (0, 0);
        let mut opened = 0;
        // Never an empty block while bytes remain (empty packages of empty parts show nothing);
        // once none remain, the empty final packages the range reaches are still opened, so a
        // file (or a size in the metadata) cut at a package boundary fails instead of reading
        // as a shorter object.
        while (self.remaining > 0 && (opened < PACKAGES_PER_BLOCK || end == start))
            || (self.remaining == 0 && !self.cursors.is_empty())
        {
            let Some(cursor) = self.cursors.front() else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "encrypted object shorter than its metadata",
                ));
            };
            if cursor.next_index > cursor.last_index {
                self.cursors.pop_front();
                continue;
            }
            let index = cursor.next_index;
            let (_, length, last) = package_extent(index, cursor.plaintext_bytes);
            self.fill_package(end, length as usize).await?;
            let cursor = self.cursors.front_mut().expect("checked above");
            cursor.next_index += 1;
            opened += 1;
            let plaintext_length = match cursor.cipher.open(index, last, &mut self.package[end..]) {
                Ok(plaintext) => plaintext.len(),
                Err(error) => {
                    tracing::error!(file = %cursor.id, package = index, error = %error, "encrypted object fails authentication");
                    return Err(io::Error::new(io::ErrorKind::InvalidData, error));
                }
            };
            // Only the range's first package has bytes before the range, and it opens first.
            let from = (self.skip as usize).min(plaintext_length);
            if from > 0 {
                debug_assert_eq!(end, 0);
                start = from;
            }
            self.skip -= from as u64;
            let take = ((plaintext_length - from) as u64).min(self.remaining) as usize;
            self.remaining -= take as u64;
            end += from + take;
            if self.remaining == 0 && take < plaintext_length - from {
                // The range ends inside this package: nothing after it is read.
                self.cursors.clear();
            }
        }
        self.package.truncate(end);
        self.shown = start..end;
        Ok(())
    }

    /// The plaintext the last `advance` produced.
    pub fn current_block(&self) -> &[u8] {
        &self.package[self.shown.clone()]
    }

    /// Closes the open file (or drops the remote stream).
    pub async fn close(self) {
        drop(self.pending);
        if let Source::Local(inner) = self.inner {
            inner.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::storage::encryption::{DataKey, Sealing};
    use crate::storage::{ObjectWriter, Placement, StoredBytes};

    /// Writes `plaintext` as one file sealed as `sealing` says; its id.
    async fn write_file(layout: &Rc<Layout>, plaintext: &[u8], sealing: Sealing) -> FileId {
        let mut writer =
            ObjectWriter::create(layout.clone(), None, Placement::File, Some(sealing), None)
                .await
                .unwrap();
        // Uneven pieces, as a socket delivers them.
        for piece in plaintext.chunks(7_777) {
            writer.write_all(piece).await.unwrap();
        }
        let published = writer.seal().await.unwrap().publish().await.unwrap();
        let StoredBytes::File(id) = published.stored.clone() else {
            panic!("a file placement gives a file");
        };
        published.keep();
        id
    }

    async fn read(
        layout: &Layout,
        segments: Vec<EncryptedSegment>,
        start: u64,
        length: u64,
    ) -> io::Result<Vec<u8>> {
        let mut reader = DecryptingReader::open(layout, segments, start, length).await?;
        let mut out = Vec::new();
        while reader.remaining() > 0 {
            reader.advance().await?;
            assert!(!reader.current_block().is_empty());
            out.extend_from_slice(reader.current_block());
        }
        reader.close().await;
        Ok(out)
    }

    #[test]
    fn every_range_of_single_and_multipart_objects_decrypts() {
        // Goal: ranges at, around and across package and part boundaries (empty parts included)
        // read back exactly the plaintext, for a single file under the data key and for parts
        // each under their own file key; a flipped stored byte fails the read of its package.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        Layout::new(&root).create_dirs().unwrap();
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .spawn(move || async move {
                let layout = Rc::new(Layout::new(root));
                let key = DataKey::generate();
                let p = PACKAGE_PLAINTEXT_BYTES;
                let part_sizes = [p + 5, 0, 0, 0, 0, 0, 3, 2 * p, 1];
                let plaintext: Vec<u8> = (0..part_sizes.iter().sum::<usize>())
                    .map(|index| (index * 131 % 251) as u8)
                    .collect();
                let single = write_file(&layout, &plaintext, Sealing::Object(key.clone())).await;
                let mut parts = Vec::new();
                let mut offset = 0;
                for size in part_sizes {
                    let id = write_file(
                        &layout,
                        &plaintext[offset..offset + size],
                        Sealing::PerFile(key.clone()),
                    )
                    .await;
                    parts.push((id, size as u64));
                    offset += size;
                }
                let total = plaintext.len() as u64;
                let single_segments = || {
                    vec![EncryptedSegment {
                        id: single,
                        plaintext_bytes: total,
                        cipher: key.packages(0),
                    }]
                };
                let part_segments = || {
                    parts
                        .iter()
                        .map(|&(id, size)| EncryptedSegment {
                            id,
                            plaintext_bytes: size,
                            cipher: key.file_packages(id),
                        })
                        .collect::<Vec<_>>()
                };
                let p = p as u64;
                let points = [
                    0,
                    1,
                    p - 1,
                    p,
                    p + 1,
                    p + 5,
                    p + 6,
                    p + 8,
                    p + 9,
                    2 * p,
                    3 * p + 8,
                    total - 1,
                    total,
                ];
                for &start in &points {
                    for &end in &points {
                        if end < start || start >= total && end > start {
                            continue;
                        }
                        let expected = &plaintext[start as usize..end as usize];
                        let whole = read(&layout, single_segments(), start, end - start)
                            .await
                            .unwrap();
                        assert_eq!(whole, expected, "single {start}..{end}");
                        let split = read(&layout, part_segments(), start, end - start)
                            .await
                            .unwrap();
                        assert_eq!(split, expected, "parts {start}..{end}");
                    }
                }
                // A size cut to a package boundary (metadata that lies, or a file cut there):
                // the final empty package is not where it should be, and the read fails.
                let exact = write_file(
                    &layout,
                    &plaintext[..2 * p as usize],
                    Sealing::Object(key.clone()),
                )
                .await;
                let claimed = |plaintext_bytes: u64| {
                    vec![EncryptedSegment {
                        id: exact,
                        plaintext_bytes,
                        cipher: key.packages(0),
                    }]
                };
                assert_eq!(
                    read(&layout, claimed(2 * p), 0, 2 * p).await.unwrap(),
                    &plaintext[..2 * p as usize]
                );
                assert!(read(&layout, claimed(p), 0, p).await.is_err());
                assert!(read(&layout, claimed(p), 5, p - 5).await.is_err());
                let exact_path = layout.object_path(exact);
                let stored = std::fs::read(&exact_path).unwrap();
                std::fs::write(&exact_path, &stored[..stored.len() - TAG_BYTES]).unwrap();
                assert!(read(&layout, claimed(2 * p), 0, 2 * p).await.is_err());
                // One flipped byte in the second package of the single file.
                let path = layout.object_path(single);
                let mut stored = std::fs::read(&path).unwrap();
                stored[PACKAGE_BYTES + 10] ^= 1;
                std::fs::write(&path, &stored).unwrap();
                assert_eq!(
                    read(&layout, single_segments(), 0, 100).await.unwrap(),
                    &plaintext[..100]
                );
                let error = read(&layout, single_segments(), 0, total)
                    .await
                    .unwrap_err();
                assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
