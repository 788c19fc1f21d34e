//! The buffers one remote read relays its bytes in: a fixed few per stream, each coming back to
//! the stream once its core has sent it, so a stream's memory is a constant and its buffers are
//! allocated and freed on the tier threads, not on a core (those still lent when the stream ends
//! come back to `reclaim`, which the tier runtime runs as a task of its own; only a stream cut
//! short by a panic or shutdown leaves its last few to be freed where they are dropped).
//! Runtime-free: the core side only drops `Bytes`.
//!
//! Why not fresh buffers per chunk: a buffer allocated on a tier thread and freed on a core waits
//! in the allocator's cross-thread free list until the tier thread collects it, so the tier
//! thread kept allocating new ones meanwhile. 16 parallel remote reads held about 1 MiB each in
//! 128 KiB chunks where five were live (page faults by call site, `tests/tier_memory.rs`;
//! BENCHMARKS.md, "2026-12-03").

use bytes::Bytes;
use futures_channel::mpsc;
use futures_lite::StreamExt;

/// A stream's buffers: at most `count_max` of `capacity_bytes` each.
pub struct ChunkPool {
    returned: mpsc::UnboundedReceiver<Vec<u8>>,
    home: mpsc::UnboundedSender<Vec<u8>>,
    made: usize,
    count_max: usize,
    capacity_bytes: usize,
}

impl ChunkPool {
    /// A pool that makes at most `count_max` (at least 1) buffers of `capacity_bytes`.
    pub fn new(count_max: usize, capacity_bytes: usize) -> Self {
        let (home, returned) = mpsc::unbounded();
        ChunkPool {
            returned,
            home,
            made: 0,
            count_max: count_max.max(1),
            capacity_bytes,
        }
    }

    /// A buffer of `capacity_bytes` capacity, holding whatever its last use left (callers set its
    /// length): one that came back, else a new one while fewer than `count_max` exist, else the
    /// next to come back (waits for the core to send one).
    pub async fn take(&mut self) -> Vec<u8> {
        if let Ok(buffer) = self.returned.try_recv() {
            return buffer;
        }
        if self.made < self.count_max {
            self.made += 1;
            return Vec::with_capacity(self.capacity_bytes);
        }
        self.returned
            .next()
            .await
            .expect("the pool holds a sender of its own, so the channel never ends")
    }

    /// The end of the pool: a future that takes back every buffer still lent as its holder
    /// drops it, frees it where the future runs, and ends with the last one (each lent buffer
    /// holds a sender of the channel). Run it on the tier runtime, whose threads allocated them.
    pub fn reclaim(self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let ChunkPool {
            mut returned,
            home,
            made,
            ..
        } = self;
        drop(home);
        async move {
            if made > 0 {
                while returned.next().await.is_some() {}
            }
        }
    }

    /// `buffer` as `Bytes` that give it back to this pool when the last of them is dropped (on
    /// whichever thread), or free it if the pool and its `reclaim` are gone.
    pub fn seal(&self, buffer: Vec<u8>) -> Bytes {
        Bytes::from_owner(Lent {
            buffer,
            home: self.home.clone(),
        })
    }
}

/// A buffer out of its pool.
struct Lent {
    buffer: Vec<u8>,
    home: mpsc::UnboundedSender<Vec<u8>>,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        // Fails only once the pool is gone without its `reclaim` running to its end (a stream cut
        // short by a panic or the runtime's shutdown): the buffer is then freed here, at most
        // `count_max` per stream.
        let _ = self.home.unbounded_send(std::mem::take(&mut self.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_and_their_number_is_bounded() {
        // Goal: a pool never makes more than its count; a sealed buffer dropped anywhere comes
        // back (same allocation) to the next take; one dropped after the pool is gone is freed.
        futures_lite::future::block_on(async {
            let mut pool = ChunkPool::new(2, 16);
            let mut first = pool.take().await;
            first.extend_from_slice(b"first");
            let first_address = first.as_ptr();
            let second = pool.take().await;
            assert_eq!(second.capacity(), 16);
            let sealed = pool.seal(first);
            assert_eq!(&sealed[..], b"first");
            let slice = sealed.slice(1..3);
            drop(sealed);
            // Both made and one still lent (through its slice): a third take must wait.
            let waiting = futures_lite::future::poll_once(pool.take()).await;
            assert!(waiting.is_none(), "a third buffer was made");
            std::thread::spawn(move || drop(slice)).join().unwrap();
            let back = pool.take().await;
            assert_eq!(back.as_ptr(), first_address, "not the same buffer");
            assert_eq!(
                back, b"first",
                "its last use is left for the caller to overwrite"
            );
            let late = pool.seal(back);
            drop(pool);
            drop(late);
        });
    }

    #[test]
    fn reclaim_takes_back_every_lent_buffer_and_ends_with_the_last() {
        // Goal: the pool's end (`reclaim`) waits while any buffer is still lent (a stream's last
        // chunks on their way out of a core), takes each back as its holder drops it on whatever
        // thread, and ends with the last one; a pool that lent nothing ends at once.
        use futures_lite::future::{block_on, poll_once};
        block_on(async {
            assert!(poll_once(ChunkPool::new(3, 8).reclaim()).await.is_some());
            let mut pool = ChunkPool::new(3, 8);
            let mut lent = Vec::new();
            for byte in 0..3u8 {
                let mut buffer = pool.take().await;
                buffer.push(byte);
                lent.push(pool.seal(buffer));
            }
            let mut reclaim = Box::pin(pool.reclaim());
            assert!(
                poll_once(&mut reclaim).await.is_none(),
                "nothing came back yet"
            );
            let first = lent.remove(0);
            std::thread::spawn(move || drop(lent)).join().unwrap();
            assert!(
                poll_once(&mut reclaim).await.is_none(),
                "a buffer is still lent"
            );
            drop(first);
            assert!(
                poll_once(&mut reclaim).await.is_some(),
                "the last one came back"
            );
        });
    }
}
