//! An object's bytes as a streamed body: `storage::ObjectReader` (and its decrypting form) for
//! local files, `tier::RemoteRead` for a version moved to a tier, seen through
//! `http::BodyStream`, so `net` sends it (and a copy reads it) without knowing where the bytes
//! come from or whether they were encrypted.

use std::io;

use crate::core_state::CoreState;
use crate::http::{BodyStream, LocalFuture};
use crate::meta::{ObjectBody, ObjectRecord};
use crate::s3::sse;
use crate::storage::decrypting_reader::DecryptingReader;
use crate::storage::encryption::DataKey;
use crate::storage::{ObjectReader, Segment};
use crate::tier::{RemoteRead, TierError};

/// Opens bytes `start..start + length` of `record`'s files (not for inline bytes): decrypted
/// with `data_key` when the object is encrypted, with the first block already read, so that a
/// disk that cannot give it (EIO) fails the request with a clear error before any byte of the
/// answer is sent. `NotFound` when a file vanished since the lookup (a concurrent overwrite, or
/// a move to a tier). A moved version streams from its tier: an unreachable tier is an error
/// before the answer's head (kind `WouldBlock` when the tier's queue is full: SlowDown).
pub async fn open_stream(
    core: &CoreState,
    record: &ObjectRecord,
    data_key: Option<&DataKey>,
    start: u64,
    length: u64,
) -> io::Result<Box<dyn BodyStream>> {
    let mut stream = open_unprimed(core, record, data_key, start, length).await?;
    if stream.remaining() == 0 {
        return Ok(stream);
    }
    if let Err(error) = stream.next_block().await {
        stream.close().await;
        return Err(error);
    }
    Ok(Box::new(Primed {
        inner: stream,
        first_block_unsent: true,
    }))
}

async fn open_unprimed(
    core: &CoreState,
    record: &ObjectRecord,
    data_key: Option<&DataKey>,
    start: u64,
    length: u64,
) -> io::Result<Box<dyn BodyStream>> {
    let layout = &core.layout;
    if let ObjectBody::Remote { object, .. } = &record.body {
        let tiers = core.tiers.as_ref().ok_or_else(|| {
            io::Error::other(format!(
                "object moved to tier {}, which is not configured",
                object.tier
            ))
        })?;
        let busy_or_failed = |error: TierError| match error {
            TierError::Busy => io::Error::new(io::ErrorKind::WouldBlock, "tier queue full"),
            error => io::Error::other(error.to_string()),
        };
        // An encrypted version moved as it was stored (packages and tags): the stored range the
        // plaintext range needs streams from the tier and is decrypted here.
        if let Some(data_key) = data_key {
            let range = DecryptingReader::stored_range(
                sse::encrypted_segments(record, data_key),
                start,
                length,
            );
            let read = tiers
                .open(
                    object,
                    range.stored_start,
                    range.stored_length,
                    range.stored_total,
                )
                .await
                .map_err(busy_or_failed)?;
            return Ok(Box::new(DecryptingReader::open_remote(
                range,
                Box::new(read),
            )));
        }
        let read = tiers
            .open(object, start, length, record.size_bytes)
            .await
            .map_err(busy_or_failed)?;
        return Ok(Box::new(read));
    }
    Ok(match data_key {
        Some(data_key) => Box::new(
            DecryptingReader::open(
                layout,
                sse::encrypted_segments(record, data_key),
                start,
                length,
            )
            .await?,
        ),
        None => {
            let segments: Vec<Segment> = record
                .extents()
                .iter()
                .map(|extent| Segment {
                    id: extent.file_id,
                    size_bytes: extent.size_bytes,
                })
                .collect();
            Box::new(ObjectReader::open_segments(layout, &segments, start, length).await?)
        }
    })
}

/// A stream whose first block was read when it was opened: the first `next_block` only hands it
/// over.
struct Primed {
    inner: Box<dyn BodyStream>,
    first_block_unsent: bool,
}

impl BodyStream for Primed {
    fn remaining(&self) -> u64 {
        let unsent = if self.first_block_unsent {
            self.inner.block().len() as u64
        } else {
            0
        };
        self.inner.remaining() + unsent
    }

    fn next_block(&mut self) -> LocalFuture<'_, io::Result<()>> {
        if std::mem::take(&mut self.first_block_unsent) {
            return Box::pin(std::future::ready(Ok(())));
        }
        self.inner.next_block()
    }

    fn block(&self) -> &[u8] {
        self.inner.block()
    }

    fn close(self: Box<Self>) -> LocalFuture<'static, ()> {
        self.inner.close()
    }
}

impl BodyStream for ObjectReader {
    fn remaining(&self) -> u64 {
        ObjectReader::remaining(self)
    }

    fn next_block(&mut self) -> LocalFuture<'_, io::Result<()>> {
        Box::pin(self.advance())
    }

    fn block(&self) -> &[u8] {
        self.current_block()
    }

    fn close(self: Box<Self>) -> LocalFuture<'static, ()> {
        Box::pin(ObjectReader::close(*self))
    }
}

impl BodyStream for DecryptingReader {
    fn remaining(&self) -> u64 {
        DecryptingReader::remaining(self)
    }

    fn next_block(&mut self) -> LocalFuture<'_, io::Result<()>> {
        Box::pin(self.advance())
    }

    fn block(&self) -> &[u8] {
        self.current_block()
    }

    fn close(self: Box<Self>) -> LocalFuture<'static, ()> {
        Box::pin(DecryptingReader::close(*self))
    }
}

impl BodyStream for RemoteRead {
    fn remaining(&self) -> u64 {
        RemoteRead::remaining(self)
    }

    fn next_block(&mut self) -> LocalFuture<'_, io::Result<()>> {
        Box::pin(self.advance())
    }

    fn block(&self) -> &[u8] {
        self.current_block()
    }

    fn close(self: Box<Self>) -> LocalFuture<'static, ()> {
        // Dropping the receiver tells the tier thread to stop forwarding.
        Box::pin(std::future::ready(()))
    }
}
