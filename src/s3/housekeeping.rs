//! Background work of the S3 layer, which the runtime runs on one core beside requests: multipart
//! uploads older than `--multipart-max-age` are dropped and their part files deleted.

use crate::core_state::CoreState;
use crate::s3::time;
use crate::storage::writer::remove_object_file_later;

/// Drops uploads older than the configured age and deletes their part files (after commit).
pub async fn reap_expired_uploads(core: &CoreState) {
    let age_ms = core.config.multipart_max_age_seconds.saturating_mul(1000) as i64;
    match core.meta.reap_uploads(time::now_ms() - age_ms).await {
        Ok(files) => {
            if !files.is_empty() {
                tracing::info!(files = files.len(), "reaped expired multipart uploads");
            }
            for file in files {
                remove_object_file_later(&core.layout, file);
            }
        }
        Err(error) => tracing::warn!(error = %error, "multipart reaper failed"),
    }
}
