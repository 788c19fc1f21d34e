//! The buffers one remote read relays its bytes in: a fixed few per stream, each coming back to
//! the stream once its core has sent it, so a stream's memory is a constant and its buffers are
//! allocated and freed on the tier threads, never on a core (those still lent when the stream
//! ends are awaited by a task of their own and freed there).
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
    /// Always `Some` until the pool is dropped.
    returned: Option<mpsc::UnboundedReceiver<Vec<u8>>>,
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
            returned: Some(returned),
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
        let returned = self.returned.as_mut().expect("taken only in drop");
        if let Ok(buffer) = returned.try_recv() {
            return buffer;
        }
        if self.made < self.count_max {
            self.made += 1;
            return Vec::with_capacity(self.capacity_bytes);
        }
        returned
            .next()
            .await
            .expect("the pool holds a sender of its own, so the channel never ends")
    }

    /// `buffer` as `Bytes` that give it back to this pool when the last of them is dropped (on
    /// whichever thread), or free it if the pool is gone.
    pub fn seal(&self, buffer: Vec<u8>) -> Bytes {
        Bytes::from_owner(Lent {
            buffer,
            home: self.home.clone(),
        })
    }
}

impl Drop for ChunkPool {
    /// Buffers still lent (the core is sending the stream's last chunks) come back to a task on
    /// this tier runtime and are freed there once the core drops them: the channel ends when the
    /// last `Lent` (each holds a sender) is gone. Outside a tokio runtime (unit tests) they are
    /// freed wherever they are dropped.
    fn drop(&mut self) {
        let Some(mut returned) = self.returned.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.made > 0 {
            runtime.spawn(async move { while returned.next().await.is_some() {} });
        }
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
        // Fails only once the pool and its reclaiming task are gone (outside a tokio runtime):
        // the buffer is then freed here.
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
    fn buffers_lent_when_the_pool_ends_are_freed_on_its_runtime() {
        // Goal: a pool dropped while its buffers are still lent (a stream's last chunks on their
        // way out of a core) leaves one task on its tokio runtime, which takes each buffer back
        // when its holder drops it, on whatever thread, and ends with the last one.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let lent = runtime.block_on(async {
            let mut pool = ChunkPool::new(3, 8);
            let mut lent = Vec::new();
            for byte in 0..3u8 {
                let mut buffer = pool.take().await;
                buffer.push(byte);
                lent.push(pool.seal(buffer));
            }
            lent
        });
        let metrics = runtime.metrics();
        assert_eq!(
            metrics.num_alive_tasks(),
            1,
            "one task awaits the lent buffers"
        );
        let (first, rest) = lent.split_at(1);
        let (first, rest) = (first.to_vec(), rest.to_vec());
        drop(lent);
        std::thread::spawn(move || drop(rest)).join().unwrap();
        let settle = |runtime: &tokio::runtime::Runtime| {
            runtime.block_on(async {
                for _ in 0..100 {
                    tokio::task::yield_now().await;
                }
            })
        };
        settle(&runtime);
        assert_eq!(metrics.num_alive_tasks(), 1, "a buffer is still lent");
        drop(first);
        settle(&runtime);
        assert_eq!(
            metrics.num_alive_tasks(),
            0,
            "the task ends with the last buffer"
        );
    }
}
