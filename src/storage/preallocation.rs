//! `Preallocation`: reserves an object file's blocks (fallocate) ahead of its DMA writes, so each
//! write lands inside the file instead of extending it.
//!
//! Why: ext4 and XFS cannot allocate blocks for a direct write that must not wait, so io_uring
//! hands every extending write to one of its kernel worker threads (io-wq): a thread wake-up and
//! two context switches per 128 KiB block. A write inside allocated, sized space is issued from
//! the core's own ring. One fallocate (itself run by a worker) now covers up to
//! `PREALLOCATION_STEP_BYTES`, or the whole object when its length was declared (BENCHMARKS.md,
//! "Preallocated object files"). Preallocation is an optimisation only: where it fails (a
//! filesystem without fallocate, or no room for the step although the object itself may fit),
//! the writes go on as before and report their own errors.

use std::cell::Cell;
use std::io;

use glommio::io::DmaFile;

use super::io_error;
use crate::limits::{DMA_WRITE_BLOCK_BYTES, PREALLOCATION_STEP_BYTES};

thread_local! {
    /// This core met a filesystem without fallocate (EOPNOTSUPP): no file tries again.
    static UNSUPPORTED: Cell<bool> = const { Cell::new(false) };
}

/// Alignment of the preallocated end: the DMA block alignment, so that a declared length's
/// padded last write falls inside it.
const PREALLOCATION_ALIGNMENT_BYTES: u64 = 4096;

/// How far one object file is allocated, and what its size on disk is known to be.
#[derive(Debug)]
pub struct Preallocation {
    /// Bytes allocated (and the file's size set) from offset 0; `None` once preallocation is off
    /// for this file.
    end_bytes: Option<u64>,
    /// Where preallocation stops: the stored length the upload declared, rounded up to the
    /// alignment, if it declared one.
    limit_bytes: Option<u64>,
    /// The file's size as far as known (writes and preallocation extend it); `None` after a
    /// fallocate failed, which may have allocated part of its range.
    file_bytes: Option<u64>,
}

impl Preallocation {
    /// For a new, empty file expected to hold `expected_bytes` stored bytes (`None`: unknown).
    /// A file declared to fit one DMA block is not preallocated: its one write would be handed
    /// to a worker either way, and the fallocate would only add an operation.
    pub fn new(expected_bytes: Option<u64>) -> Self {
        let one_write = expected_bytes.is_some_and(|bytes| bytes <= DMA_WRITE_BLOCK_BYTES as u64);
        Preallocation {
            end_bytes: (!UNSUPPORTED.get() && !one_write).then_some(0),
            limit_bytes: expected_bytes.map(|bytes| {
                bytes.div_ceil(PREALLOCATION_ALIGNMENT_BYTES) * PREALLOCATION_ALIGNMENT_BYTES
            }),
            file_bytes: Some(0),
        }
    }

    /// Makes `[0, end_bytes)` allocated before a write up to `end_bytes` is issued: one step
    /// further (up to the declared length) when it is not yet. Never fails: a refused fallocate
    /// turns preallocation off for this file (and, for EOPNOTSUPP, for this core).
    pub async fn cover(&mut self, file: &DmaFile, end_bytes: u64) {
        let Some(allocated) = self.end_bytes else {
            return;
        };
        if end_bytes <= allocated {
            return;
        }
        let mut target = allocated + PREALLOCATION_STEP_BYTES;
        if let Some(limit) = self.limit_bytes {
            target = target.min(limit);
        }
        let target = target.max(end_bytes);
        match file.pre_allocate(target, false).await.map_err(io_error) {
            Ok(()) => {
                self.end_bytes = Some(target);
                self.file_bytes = self.file_bytes.map(|bytes| bytes.max(target));
            }
            Err(error) => {
                self.refused(&error);
            }
        }
    }

    /// Counts a write that ended at `end_bytes` (the file grows to hold it).
    pub fn wrote(&mut self, end_bytes: u64) {
        self.file_bytes = self.file_bytes.map(|bytes| bytes.max(end_bytes));
    }

    /// Whether the file must be truncated to hold exactly `size_bytes`: its size is larger
    /// (preallocation past the end, a padded last block) or unknown.
    pub fn needs_trim(&self, size_bytes: u64) -> bool {
        self.file_bytes != Some(size_bytes)
    }

    fn refused(&mut self, error: &io::Error) {
        self.end_bytes = None;
        // A failed fallocate may have allocated, and sized the file, part-way.
        self.file_bytes = None;
        if error.raw_os_error() == Some(libc::EOPNOTSUPP) {
            UNSUPPORTED.set(true);
            tracing::info!(error = %error, "the data dir's filesystem cannot preallocate files: object writes extend them");
        } else {
            tracing::debug!(error = %error, "preallocation refused; the writes go on without it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glommio::io::OpenOptions;

    #[test]
    fn cover_allocates_one_step_or_up_to_the_declared_length() {
        // Goal: the fallocate really happens (the file is sized before the write that needs it),
        // stops at the declared length rounded up to the block, and else reaches one step.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .spawn(move || async move {
                let size_of = |name: &str| std::fs::metadata(root.join(name)).unwrap().len();
                let open = |name: &str| {
                    let path = root.join(name);
                    async move {
                        OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .dma_open(&path)
                            .await
                            .unwrap()
                    }
                };
                let declared = open("declared").await;
                let mut preallocation = Preallocation::new(Some(300_000));
                preallocation.cover(&declared, 131_072).await;
                assert_eq!(size_of("declared"), 303_104);
                assert!(preallocation.needs_trim(300_000));
                // Inside the allocated range: no further call, nothing changes.
                preallocation.cover(&declared, 303_104).await;
                assert_eq!(size_of("declared"), 303_104);

                let open_ended = open("open-ended").await;
                let mut preallocation = Preallocation::new(None);
                preallocation.cover(&open_ended, 4096).await;
                assert_eq!(size_of("open-ended"), PREALLOCATION_STEP_BYTES);
                preallocation
                    .cover(&open_ended, PREALLOCATION_STEP_BYTES + 4096)
                    .await;
                assert_eq!(size_of("open-ended"), 2 * PREALLOCATION_STEP_BYTES);
                preallocation.wrote(2 * PREALLOCATION_STEP_BYTES);
                assert!(!preallocation.needs_trim(2 * PREALLOCATION_STEP_BYTES));
            })
            .unwrap()
            .join()
            .unwrap();
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

    #[test]
    fn a_refused_fallocate_turns_preallocation_off_and_forces_the_trim() {
        let mut preallocation = Preallocation::new(None);
        preallocation.refused(&io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(preallocation.end_bytes, None);
        preallocation.wrote(4096);
        assert!(
            preallocation.needs_trim(4096),
            "a failed fallocate may have sized the file"
        );
        // ENOSPC concerns this file only: the next one tries again.
        assert!(Preallocation::new(None).end_bytes.is_some());
    }
}
