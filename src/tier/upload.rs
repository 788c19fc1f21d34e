//! One version's upload to its tier, on the tier threads: a single PUT up to `TIER_PART_BYTES`,
//! else a multipart (S3, GCS) or block (Azure) upload journaled in the metadata (`tier_uploads`:
//! its id before its first part, each part once sent, forgotten once completed or aborted), so a
//! move a crash interrupted resumes with the parts the store has, and an upload nobody resumes
//! is aborted by the reconciler. At most `TIER_PARTS_IN_FLIGHT_MAX` parts are sent at
//! once, each read straight from the local files into the buffer the request sends
//! (`LocalFile`), so memory stays at a few parts whatever the object's size.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::multipart::PartId;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

use super::local_read::LocalFile;
use super::tiers::{call, upstream, Tier};
use crate::limits::{
    TIER_PARTS_IN_FLIGHT_MAX, TIER_PART_BYTES, TIER_UPLOADS_PER_OBJECT_MAX, TIER_YIELD_POLL_MS,
    TIER_YIELD_REQUESTS_IN_FLIGHT_MIN, TIER_YIELD_WAIT_MS_MAX,
};
use crate::meta::{
    ForgetTierUpload, ListTierParts, ListTierUploads, MetaClient, MoveCandidate, RecordTierPart,
    RecordTierUpload, SentPart, TierUpload,
};
use crate::object_bytes::{FileId, RemoteObject};
use crate::storage::encryption::encrypted_size;

/// Why one move failed (the version stays local and is tried again later).
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// The tier failed.
    #[error("{0}")]
    Tier(#[from] super::TierError),
    /// A local file could not be read.
    #[error("reading the local copy: {0}")]
    Local(#[from] std::io::Error),
    /// The metadata thread failed.
    #[error("metadata: {0}")]
    Meta(#[from] crate::meta::MetaError),
    /// The version needs parts larger than `TIER_PART_BYTES_MAX`.
    #[error("{0} bytes: too large to move")]
    TooLarge(u64),
}

/// How many requests the cores are handling now.
pub type ForegroundLoad = Arc<dyn Fn() -> i64 + Send + Sync>;

/// When the mover's next upload (a part, or a small object) may go. Foreground first: while
/// the cores handle `TIER_YIELD_REQUESTS_IN_FLIGHT_MIN` requests or more, it waits for a quieter
/// moment, sampling every `TIER_YIELD_POLL_MS`, but never more than `TIER_YIELD_WAIT_MS_MAX` (a
/// server that is never quiet still drains). Then the bandwidth limit
/// (`--tier-bandwidth-mbps`): each upload waits for its slot, so uploads average at most
/// `bytes_per_second` (0: no limit), shared by the moves in flight.
pub struct Pace {
    bytes_per_second: u64,
    /// When the bytes granted so far are paid for.
    paid_until: std::sync::Mutex<std::time::Instant>,
    foreground_load: ForegroundLoad,
}

impl Pace {
    /// A limit of `bytes_per_second` (0: none), yielding to `foreground_load`.
    pub fn new(bytes_per_second: u64, foreground_load: ForegroundLoad) -> Self {
        Pace {
            bytes_per_second,
            paid_until: std::sync::Mutex::new(std::time::Instant::now()),
            foreground_load,
        }
    }

    /// Waits until `bytes` more may go.
    async fn take(&self, bytes: usize) {
        let give_up = std::time::Instant::now() + Duration::from_millis(TIER_YIELD_WAIT_MS_MAX);
        while (self.foreground_load)() >= TIER_YIELD_REQUESTS_IN_FLIGHT_MIN
            && std::time::Instant::now() < give_up
        {
            tokio::time::sleep(Duration::from_millis(TIER_YIELD_POLL_MS)).await;
        }
        if self.bytes_per_second == 0 {
            return;
        }
        let start = {
            let mut paid_until = self.paid_until.lock().expect("pace");
            let now = std::time::Instant::now();
            let start = (*paid_until).max(now);
            *paid_until =
                start + Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64);
            start
        };
        tokio::time::sleep_until(start.into()).await;
    }
}

/// What one upload sends, and where.
pub struct Upload<'a> {
    /// The tier.
    pub tier: &'a Tier,
    /// The upstream name.
    pub path: Path,
    /// The object (for the journal and the logs).
    pub remote: &'a RemoteObject,
    /// The local files in order: `(path, size in bytes)`.
    pub files: Vec<(std::path::PathBuf, u64)>,
    /// Their total size, in bytes.
    pub size_bytes: u64,
    /// The part size, in bytes (`part_bytes_for`).
    pub part_bytes: usize,
}

impl Upload<'_> {
    /// Sends the files; done once the upstream object exists whole. A local file gone
    /// meanwhile (the version was overwritten or deleted) is `MoveError::Local` of kind
    /// `NotFound`; nothing is left upstream but an object the next attempt overwrites (or the
    /// reconciler deletes).
    pub async fn send(self, meta: &MetaClient, pace: &Pace) -> Result<(), MoveError> {
        if self.size_bytes <= TIER_PART_BYTES as u64 {
            pace.take(self.size_bytes as usize).await;
            let files = self.files;
            let bytes = tokio::task::spawn_blocking(move || read_whole(&files))
                .await
                .map_err(|error| std::io::Error::other(error.to_string()))??;
            self.tier
                .store
                .put(&self.path, bytes)
                .await
                .map_err(|error| upstream(&self.remote.tier, &error))?;
            return Ok(());
        }
        self.send_multipart(meta, pace).await
    }

    /// A multipart upload, journaled while it is unfinished: resumed if a crash interrupted an
    /// earlier attempt at this object, else new. A failure aborts it (the next attempt starts
    /// afresh); only a crash leaves it to resume.
    async fn send_multipart(self, meta: &MetaClient, pace: &Pace) -> Result<(), MoveError> {
        let (journal, sent) = self.resume_or_start(meta).await?;
        let outcome = match self.send_parts(&journal, sent, meta, pace).await {
            Ok(parts) => self
                .tier
                .multipart
                .complete_multipart(&self.path, &journal.upload_id, parts)
                .await
                .map(|_| ())
                .map_err(|error| MoveError::from(upstream(&self.remote.tier, &error))),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => {
                // A failure here only leaves the reconciler an abort that finds no upload.
                if let Err(error) = call(meta, ForgetTierUpload { upload: journal }).await {
                    tracing::warn!(tier = %self.remote.tier, error = %error, "finished upload not forgotten");
                }
                Ok(())
            }
            Err(error) => {
                if let Err(abort_error) = self.abort(meta, journal).await {
                    // Still journaled: the next attempt or the reconciler aborts it.
                    tracing::warn!(tier = %self.remote.tier, error = %abort_error, "unfinished upload not aborted; it will be later");
                }
                Err(error)
            }
        }
    }

    /// The upload to send into, and the parts the store has of it: an earlier attempt's that a
    /// crash interrupted, if its parts are cut the same; else a new one, journaled before any
    /// part goes. Any other earlier upload of this object is aborted.
    async fn resume_or_start(
        &self,
        meta: &MetaClient,
    ) -> Result<(TierUpload, Vec<SentPart>), MoveError> {
        let earlier = call(
            meta,
            ListTierUploads {
                tier: self.remote.tier.clone(),
                object_id: Some(self.remote.object_id),
                limit: TIER_UPLOADS_PER_OBJECT_MAX,
            },
        )
        .await?;
        let mut resumed = None;
        for upload in earlier {
            if resumed.is_none() && upload.part_bytes == self.part_bytes as u64 {
                let sent = call(
                    meta,
                    ListTierParts {
                        upload: upload.clone(),
                    },
                )
                .await?;
                resumed = Some((upload, sent));
            } else {
                self.abort(meta, upload).await?;
            }
        }
        if let Some((upload, sent)) = resumed {
            tracing::info!(tier = %self.remote.tier, object_id = %self.remote.object_id, upload_id = %upload.upload_id, parts_sent = sent.len(), "resuming an interrupted upload");
            return Ok((upload, sent));
        }
        let upload_id = self
            .tier
            .multipart
            .create_multipart(&self.path)
            .await
            .map_err(|error| upstream(&self.remote.tier, &error))?;
        let journal = TierUpload {
            remote: self.remote.clone(),
            attempt: format!("{:032x}", fastrand::u128(..)),
            upload_id,
            part_bytes: self.part_bytes as u64,
        };
        if let Err(error) = call(
            meta,
            RecordTierUpload {
                upload: journal.clone(),
            },
        )
        .await
        {
            let _ = self
                .tier
                .multipart
                .abort_multipart(&self.path, &journal.upload_id)
                .await;
            return Err(error.into());
        }
        Ok((journal, Vec::new()))
    }

    /// Aborts `upload` upstream (gone already is fine) and forgets it.
    async fn abort(&self, meta: &MetaClient, upload: TierUpload) -> Result<(), MoveError> {
        match self
            .tier
            .multipart
            .abort_multipart(&self.path, &upload.upload_id)
            .await
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(upstream(&self.remote.tier, &error).into()),
        }
        tracing::info!(tier = %self.remote.tier, object_id = %self.remote.object_id, upload_id = %upload.upload_id, "unfinished upstream upload aborted");
        call(meta, ForgetTierUpload { upload }).await?;
        Ok(())
    }

    /// Sends the parts the store does not have (`sent`), at most `TIER_PARTS_IN_FLIGHT_MAX` at
    /// once, journaling each; every part's id in order. Each file is read in chunks of
    /// `part_bytes` at aligned offsets (O_DIRECT); a part may span two files of a multipart
    /// object, whose sizes need not be multiples of the alignment, so parts are cut from the
    /// chunks (`Bytes::slice`: no copy).
    async fn send_parts(
        &self,
        journal: &TierUpload,
        sent: Vec<SentPart>,
        meta: &MetaClient,
        pace: &Pace,
    ) -> Result<Vec<PartId>, MoveError> {
        let mut parts = Parts {
            sending: tokio::task::JoinSet::new(),
            ids: Vec::new(),
            sent: sent
                .into_iter()
                .map(|part| (part.index, part.content_id))
                .collect(),
            journal,
            meta,
        };
        let mut part: Vec<Bytes> = Vec::new();
        let mut part_length = 0usize;
        for (path, size) in &self.files {
            let file = Arc::new(LocalFile::open(path)?);
            let mut offset = 0u64;
            while offset < *size {
                // The chunk about to be read counts as a part: at most
                // `TIER_PARTS_IN_FLIGHT_MAX` parts' bytes are held, sending or being read.
                while parts.sending.len() >= TIER_PARTS_IN_FLIGHT_MAX {
                    let done = parts.sending.join_next().await.expect("parts in flight");
                    parts.finish(done, &self.remote.tier)?;
                }
                let length = (size - offset).min(self.part_bytes as u64) as usize;
                let reader = file.clone();
                let read_at = offset;
                let mut chunk = tokio::task::spawn_blocking(move || reader.read(read_at, length))
                    .await
                    .map_err(|error| std::io::Error::other(error.to_string()))??;
                if chunk.len() < length {
                    return Err(MoveError::Local(short_copy()));
                }
                offset += chunk.len() as u64;
                while !chunk.is_empty() {
                    let take = chunk.len().min(self.part_bytes - part_length);
                    part.push(chunk.split_to(take));
                    part_length += take;
                    if part_length == self.part_bytes {
                        self.start_part(&mut parts, &mut part, pace).await?;
                        part_length = 0;
                    }
                }
            }
        }
        if !part.is_empty() {
            self.start_part(&mut parts, &mut part, pace).await?;
        }
        while let Some(done) = parts.sending.join_next().await {
            parts.finish(done, &self.remote.tier)?;
        }
        Ok(parts
            .ids
            .into_iter()
            .map(|part| part.expect("every part finished"))
            .collect())
    }

    /// Starts sending `part` (taken) once fewer than `TIER_PARTS_IN_FLIGHT_MAX` are in flight,
    /// unless the store has it already (a resumed upload).
    async fn start_part(
        &self,
        parts: &mut Parts<'_>,
        part: &mut Vec<Bytes>,
        pace: &Pace,
    ) -> Result<(), MoveError> {
        let payload = PutPayload::from_iter(std::mem::take(part));
        let index = parts.ids.len();
        if let Some(content_id) = parts.sent.remove(&index) {
            parts.ids.push(Some(PartId { content_id }));
            return Ok(());
        }
        while parts.sending.len() >= TIER_PARTS_IN_FLIGHT_MAX {
            let done = parts.sending.join_next().await.expect("parts in flight");
            parts.finish(done, &self.remote.tier)?;
        }
        pace.take(payload.content_length()).await;
        parts.ids.push(None);
        let (multipart, path, journal, meta) = (
            self.tier.multipart.clone(),
            self.path.clone(),
            parts.journal.clone(),
            parts.meta.clone(),
        );
        parts.sending.spawn(async move {
            let sent = multipart
                .put_part(&path, &journal.upload_id, index, payload)
                .await;
            if let Ok(part) = &sent {
                let record = RecordTierPart {
                    upload: journal,
                    part: SentPart {
                        index,
                        content_id: part.content_id.clone(),
                    },
                };
                // Not journaled: a resumed upload sends this part again.
                if let Err(error) = call(&meta, record).await {
                    tracing::warn!(error = %error, "sent part not journaled");
                }
            }
            (index, sent)
        });
        Ok(())
    }
}

/// An upload's parts: those being sent, every part's id once known, those the store had before
/// (a resumed upload: by index), and where each newly sent part is journaled.
struct Parts<'a> {
    sending: tokio::task::JoinSet<(usize, object_store::Result<PartId>)>,
    ids: Vec<Option<PartId>>,
    sent: std::collections::HashMap<usize, String>,
    journal: &'a TierUpload,
    meta: &'a MetaClient,
}

impl Parts<'_> {
    /// Records a finished part's id, or fails with its error.
    fn finish(
        &mut self,
        done: Result<(usize, object_store::Result<PartId>), tokio::task::JoinError>,
        tier: &str,
    ) -> Result<(), MoveError> {
        let (index, sent) = done.map_err(|error| std::io::Error::other(error.to_string()))?;
        self.ids[index] = Some(sent.map_err(|error| upstream(tier, &error))?);
        Ok(())
    }
}

/// The files a version's upload sends, with the bytes each holds: its plaintext sizes, or an
/// encrypted version's packages and tags (it moves as stored; its reads decrypt what streams
/// back: `DecryptingReader::open_remote`).
pub fn stored_files(candidate: &MoveCandidate) -> Vec<(FileId, u64)> {
    candidate
        .files()
        .iter()
        .map(|file| match candidate.encrypted {
            true => (file.file_id, encrypted_size(file.size_bytes)),
            false => (file.file_id, file.size_bytes),
        })
        .collect()
}

/// Reads files (`(path, size)`) whole, in order (a small object: at most `TIER_PART_BYTES`).
fn read_whole(paths: &[(std::path::PathBuf, u64)]) -> std::io::Result<PutPayload> {
    let mut chunks = Vec::with_capacity(paths.len());
    for (path, size) in paths {
        let chunk = LocalFile::open(path)?.read(0, *size as usize)?;
        if chunk.len() as u64 != *size {
            return Err(short_copy());
        }
        chunks.push(chunk);
    }
    Ok(PutPayload::from_iter(chunks))
}

fn short_copy() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "local copy shorter than its recorded size",
    )
}
