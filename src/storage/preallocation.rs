//! `Preallocation`: reserves an object file's blocks (fallocate) ahead of its DMA writes, so each
//! write lands inside the file instead of extending it.
//!
//! Why: ext4 and XFS cannot allocate blocks for a direct write that must not wait, so io_uring
//! hands every extending write to one of its kernel worker threads (io-wq): a thread wake-up and
//! two context switches per 128 KiB block. A write inside allocated, sized space is issued from
//! the core's own ring. One fallocate (itself run by a worker) reserves as much again as the file
//! already holds, at least `PREALLOCATION_STEP_MIN_BYTES` and at most
//! `PREALLOCATION_STEP_MAX_BYTES`, never past a declared length: a client that stalls holds
//! little, and a 1 MiB object takes one fallocate instead of eight handed-off writes
//! (BENCHMARKS.md, 2026-12-03, "object files preallocated"). Preallocation is an optimisation
//! only: where it fails (a filesystem without fallocate, no room for a step although the object
//! itself may fit) the file is cut back to what was written and the writes go on as before,
//! reporting their own errors.

use std::cell::Cell;
use std::io;

use glommio::io::DmaFile;

use super::io_error;
use crate::limits::{
    DMA_WRITE_BLOCK_BYTES, PREALLOCATION_STEP_MAX_BYTES, PREALLOCATION_STEP_MIN_BYTES,
};

thread_local! {
    /// This core met a filesystem without fallocate (EOPNOTSUPP): no file tries again.
    static UNSUPPORTED: Cell<bool> = const { Cell::new(false) };
}

/// How far one object file is allocated, and what its size on disk is known to be.
#[derive(Debug)]
pub struct Preallocation {
    /// Bytes allocated (and the file's size set) from offset 0; `None` once preallocation is off
    /// for this file.
    end_bytes: Option<u64>,
    /// Where preallocation stops: the stored length the upload declared, to the byte (a last
    /// partial block is allocated with the rest and the file sized exactly; the writer fills it
    /// by a buffered write, with no truncate), while the writes stay within it.
    limit_bytes: Option<u64>,
    /// Where the writes issued so far end.
    written_bytes: u64,
    /// A fallocate failed part-way and the file could not be cut back: its size is unknown.
    size_unknown: bool,
}

impl Preallocation {
    /// For a new, empty file expected to hold `expected_bytes` stored bytes (`None`: unknown).
    /// A file declared to fit one DMA block is not preallocated: its one write would be handed
    /// to a worker either way, and the fallocate would only add an operation.
    pub fn new(expected_bytes: Option<u64>) -> Self {
        let one_write = expected_bytes.is_some_and(|bytes| bytes <= DMA_WRITE_BLOCK_BYTES as u64);
        Preallocation {
            end_bytes: (!UNSUPPORTED.get() && !one_write).then_some(0),
            limit_bytes: expected_bytes,
            written_bytes: 0,
            size_unknown: false,
        }
    }

    /// Makes `[0, end_bytes)` allocated before a write up to `end_bytes` is issued: one step
    /// further when it is not yet. Never fails: a refused fallocate turns preallocation off for
    /// this file (and, for EOPNOTSUPP, for this core) and cuts the file back to what was written.
    pub async fn cover(&mut self, file: &DmaFile, end_bytes: u64) {
        let Some(allocated) = self.end_bytes else {
            return;
        };
        if end_bytes <= allocated {
            return;
        }
        // A body longer than it declared (caught when it ends) steps on as an undeclared one,
        // rather than calling fallocate for every block past the limit.
        let limit = self.limit_bytes.filter(|&limit| end_bytes <= limit);
        self.limit_bytes = limit;
        let step = allocated.clamp(PREALLOCATION_STEP_MIN_BYTES, PREALLOCATION_STEP_MAX_BYTES);
        let target = limit.map_or(allocated + step, |limit| limit.min(allocated + step));
        let target = target.max(end_bytes);
        match file.pre_allocate(target, false).await.map_err(io_error) {
            Ok(()) => self.end_bytes = Some(target),
            Err(error) => self.refused(file, &error).await,
        }
    }

    /// Counts a write that ends at `end_bytes` (the file grows to hold it).
    pub fn wrote(&mut self, end_bytes: u64) {
        self.written_bytes = self.written_bytes.max(end_bytes);
    }

    /// Whether the file is known to hold at most `size_bytes`: nothing preallocated or written
    /// past them, so a write at `size_bytes` extends it.
    pub fn ends_within(&self, size_bytes: u64) -> bool {
        !self.size_unknown && self.written_bytes.max(self.end_bytes.unwrap_or(0)) <= size_bytes
    }

    /// Truncates the file to `size_bytes`, a block boundary at or past what was written (ext4
    /// cuts there without reading anything back), so that a write at `size_bytes` extends it.
    pub async fn cut_back(&mut self, file: &DmaFile, size_bytes: u64) -> io::Result<()> {
        debug_assert!(size_bytes >= self.written_bytes);
        file.truncate(size_bytes).await.map_err(io_error)?;
        self.end_bytes = self.end_bytes.map(|end| end.min(size_bytes));
        self.size_unknown = false;
        Ok(())
    }

    /// Whether the file must be truncated to hold exactly `size_bytes`: its size is larger
    /// (preallocation past the end, a padded last block) or unknown.
    pub fn needs_trim(&self, size_bytes: u64) -> bool {
        // The file holds what was written and what is preallocated (nothing once it is off: a
        // refused fallocate cuts the file back to what was written).
        let file_bytes = self.written_bytes.max(self.end_bytes.unwrap_or(0));
        self.size_unknown || file_bytes != size_bytes
    }

    async fn refused(&mut self, file: &DmaFile, error: &io::Error) {
        self.end_bytes = None;
        match error.raw_os_error() {
            Some(libc::EOPNOTSUPP) => {
                UNSUPPORTED.set(true);
                tracing::info!(error = %error, "the data dir's filesystem cannot preallocate files: object writes extend them");
            }
            Some(libc::ENOSPC | libc::EDQUOT) => {
                tracing::debug!(error = %error, "no room to preallocate; the writes go on without it");
            }
            _ => {
                tracing::warn!(error = %error, "preallocation failed; the writes go on without it")
            }
        }
        // A failed fallocate may have allocated, and sized the file, part-way (ext4 keeps what
        // it got): give those blocks back now rather than hold them until the upload ends,
        // where another upload could have used them.
        self.size_unknown = file.truncate(self.written_bytes).await.is_err();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glommio::io::OpenOptions;
    use std::path::Path;

    const MIB: u64 = 1024 * 1024;

    /// Runs `body` on a glommio executor with a fresh directory.
    fn on_executor<F>(body: impl FnOnce(std::path::PathBuf) -> F + Send + 'static)
    where
        F: std::future::Future<Output = ()> + 'static,
    {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .spawn(move || body(root))
            .unwrap()
            .join()
            .unwrap();
    }

    async fn create(path: &Path) -> DmaFile {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .dma_open(path)
            .await
            .unwrap()
    }

    fn size_of(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().len()
    }

    #[test]
    fn cover_sizes_the_file_up_to_the_declared_length() {
        // Goal: the fallocate really happens before the write that needs it, stops at the
        // declared length to the byte (the file's exact size; its last partial block allocated
        // for the writer's buffered write), and a body longer than it declared steps on as an
        // undeclared one.
        on_executor(|root| async move {
            let path = root.join("declared");
            let file = create(&path).await;
            let mut preallocation = Preallocation::new(Some(300_000));
            preallocation.cover(&file, 131_072).await;
            assert_eq!(size_of(&path), 300_000);
            preallocation.wrote(131_072);
            assert!(
                !preallocation.needs_trim(300_000),
                "sized exactly by the fallocate"
            );
            assert!(preallocation.ends_within(300_000));
            assert!(!preallocation.ends_within(299_999));
            // Inside the allocated range: nothing changes.
            preallocation.cover(&file, 299_008).await;
            assert_eq!(size_of(&path), 300_000);
            preallocation.wrote(299_008);
            preallocation.wrote(300_000);
            assert!(
                !preallocation.needs_trim(300_000),
                "the tail's write ends it exactly"
            );
            preallocation.cover(&file, 299_008 + 131_072).await;
            assert_eq!(preallocation.limit_bytes, None);
            assert_eq!(size_of(&path), 300_000 + MIB);
        });
    }

    #[test]
    fn an_undeclared_file_grows_by_as_much_again_within_the_bounds() {
        on_executor(|root| async move {
            let path = root.join("open-ended");
            let file = create(&path).await;
            let mut preallocation = Preallocation::new(None);
            preallocation.cover(&file, 4096).await;
            assert_eq!(size_of(&path), PREALLOCATION_STEP_MIN_BYTES);
            preallocation.wrote(4096);
            assert!(preallocation.needs_trim(4096), "the file is a step long");
            for (end, size) in [(MIB + 4096, 2 * MIB), (2 * MIB + 4096, 4 * MIB)] {
                preallocation.cover(&file, end).await;
                assert_eq!(size_of(&path), size);
            }
            preallocation.cover(&file, 4 * MIB + 4096).await;
            assert_eq!(size_of(&path), 4 * MIB + PREALLOCATION_STEP_MAX_BYTES);
            preallocation.wrote(8 * MIB);
            assert!(!preallocation.needs_trim(8 * MIB));
        });
    }

    #[test]
    fn an_undeclared_file_is_cut_back_to_its_whole_blocks_for_its_tail() {
        // Goal: a file preallocated a step past its end is cut back at the block boundary after
        // its last whole block, so the tail's write ends it and no trim is left to do.
        on_executor(|root| async move {
            let path = root.join("cut-back");
            let file = create(&path).await;
            let mut preallocation = Preallocation::new(None);
            preallocation.cover(&file, 8192).await;
            preallocation.wrote(8192);
            assert!(!preallocation.ends_within(8192 + 100));
            preallocation.cut_back(&file, 8192).await.unwrap();
            assert_eq!(size_of(&path), 8192);
            assert!(preallocation.ends_within(8192));
            preallocation.wrote(8192 + 100);
            assert!(!preallocation.needs_trim(8192 + 100));
        });
    }

    #[test]
    fn a_refused_fallocate_gives_back_what_it_got_and_turns_preallocation_off() {
        on_executor(|root| async move {
            let path = root.join("refused");
            let file = create(&path).await;
            let mut preallocation = Preallocation::new(None);
            preallocation.cover(&file, 4096).await;
            preallocation.wrote(4096);
            preallocation
                .refused(&file, &io::Error::from_raw_os_error(libc::ENOSPC))
                .await;
            assert_eq!(size_of(&path), 4096, "cut back to what was written");
            assert_eq!(preallocation.end_bytes, None);
            assert!(!preallocation.needs_trim(4096));
            preallocation.cover(&file, 8192).await;
            assert_eq!(size_of(&path), 4096, "no further fallocate");
            // ENOSPC concerns this file only: the next one tries again.
            assert!(Preallocation::new(None).end_bytes.is_some());
        });
    }

    #[test]
    fn a_file_of_one_block_is_not_preallocated() {
        assert_eq!(
            Preallocation::new(Some(DMA_WRITE_BLOCK_BYTES as u64)).end_bytes,
            None
        );
        assert_eq!(
            Preallocation::new(Some(DMA_WRITE_BLOCK_BYTES as u64 + 1)).end_bytes,
            Some(0)
        );
        let mut one_block = Preallocation::new(Some(65_536));
        one_block.wrote(65_536);
        assert!(!one_block.needs_trim(65_536), "an exact size needs no trim");
    }
}
