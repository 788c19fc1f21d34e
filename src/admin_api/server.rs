//! Admin operations on the server as a whole: what it is and has (info), what each bucket and
//! each user holds (usage), and the last failed requests (errors).

use serde_json::{json, Value};

use super::error::AdminError;
use super::Answer;
use crate::limits::RECENT_ERRORS_ANSWERED_MAX;
use crate::meta::{BucketUsage, GetBucketFigures, ListUsers};
use crate::obs::recent_errors::merge_newest_first;
use crate::s3::S3Context;

/// Bytes of a file, 0 when it is absent (the WAL between checkpoints).
fn file_size_bytes(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |metadata| metadata.len())
}

/// `GET info`: version, uptime, cores, data dir, disk, metadata size, connections, queue depth.
pub fn info(context: &S3Context) -> Result<Answer, AdminError> {
    let layout = &context.layout;
    // statvfs and stat read counters the kernel holds in memory: no disk wait on the core
    // (as SOSAPI's capacity.xml does).
    let disk = crate::storage::capacity::disk_capacity(layout.root());
    let meta_path = layout.meta_path();
    let mut wal_path = meta_path.clone().into_os_string();
    wal_path.push("-wal");
    let metadata_bytes = file_size_bytes(&meta_path) + file_size_bytes(wal_path.as_ref());
    let metrics = &context.metrics;
    Ok(Answer::ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSeconds": metrics.started.elapsed().as_secs(),
        "cores": context.config.cores,
        "dataDir": layout.root().display().to_string(),
        "region": context.config.region,
        "disk": disk.map(|disk| json!({
            "totalBytes": disk.total_bytes,
            "availableBytes": disk.available_bytes,
            "usedBytes": disk.total_bytes.saturating_sub(disk.free_bytes),
        })),
        "metadataBytes": metadata_bytes,
        "connectionsOpen": metrics.connections_open(),
        "metadataQueueDepth": context.meta.queue_depth(),
        "tls": context.config.tls.is_some(),
    })))
}

/// `GET usage`: per bucket and per user (buckets owned, and what they hold), and the totals.
pub async fn usage(context: &S3Context) -> Result<Answer, AdminError> {
    let buckets = context.meta.call(GetBucketFigures(None)).await?;
    let names: std::collections::HashMap<String, String> = context
        .meta
        .call(ListUsers)
        .await?
        .into_iter()
        .map(|user| (user.access_key, user.display_name))
        .collect();
    let bucket_rows: Vec<Value> = buckets
        .iter()
        .map(|bucket| {
            json!({
                "name": bucket.name,
                "owner": bucket.owner,
                "objects": bucket.usage.objects,
                "versions": bucket.usage.versions,
                "bytes": bucket.usage.size_bytes,
            })
        })
        .collect();
    // Per owner and in total, summed from the buckets' own figures.
    let mut owners: std::collections::BTreeMap<&str, (usize, BucketUsage)> = Default::default();
    let mut total = BucketUsage::default();
    for bucket in &buckets {
        let (count, usage) = owners.entry(bucket.owner.as_str()).or_default();
        *count += 1;
        usage.add(&bucket.usage);
        total.add(&bucket.usage);
    }
    let user_rows: Vec<Value> = owners
        .iter()
        .map(|(owner, (count, usage))| {
            // The bootstrap admin, or a removed user whose buckets stay, by access key.
            let display_name = names.get(*owner).map_or(*owner, String::as_str);
            json!({
                "accessKey": owner,
                "displayName": display_name,
                "buckets": count,
                "objects": usage.objects,
                "versions": usage.versions,
                "bytes": usage.size_bytes,
            })
        })
        .collect();
    Ok(Answer::ok(json!({
        "buckets": bucket_rows,
        "users": user_rows,
        "total": {
            "buckets": buckets.len(),
            "objects": total.objects,
            "versions": total.versions,
            "bytes": total.size_bytes,
        },
    })))
}

/// `GET errors`: the last failed S3 requests of every core, newest first.
pub fn errors(context: &S3Context) -> Result<Answer, AdminError> {
    let merged = merge_newest_first(
        context.metrics.cores.iter().map(|core| &core.recent_errors),
        RECENT_ERRORS_ANSWERED_MAX,
    );
    let rows: Vec<Value> = merged
        .iter()
        .map(|error| {
            json!({
                "timeMs": error.time_ms,
                "requestId": error.request_id,
                "core": error.core,
                "operation": error.operation,
                "status": error.status,
                "code": error.code,
                "method": error.method,
                "path": error.path,
                "accessKey": error.access_key,
            })
        })
        .collect();
    Ok(Answer::ok(json!({ "errors": rows })))
}
