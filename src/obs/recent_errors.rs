//! The last failed requests of each core, for the admin API's "recent errors": a bounded ring
//! per core that only its core writes (a lock no other core contends for, except a reader
//! merging the rings on an admin request).

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::limits::RECENT_ERRORS_PER_CORE_MAX;

/// One failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentError {
    /// When it was answered, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Its `x-amz-request-id`.
    pub request_id: String,
    /// The core that served it.
    pub core: usize,
    /// The operation (AWS's name, or `Other` when refused before routing).
    pub operation: &'static str,
    /// HTTP status.
    pub status: u16,
    /// The S3 error code answered.
    pub code: &'static str,
    /// Method and path (no query string: it may carry a presigned signature).
    pub method: &'static str,
    /// Request path.
    pub path: String,
    /// The access key the request claimed (empty when anonymous).
    pub access_key: String,
}

/// One core's ring.
#[derive(Default)]
pub struct RecentErrors {
    ring: Mutex<VecDeque<RecentError>>,
}

impl RecentErrors {
    /// Keeps `error`, forgetting the oldest beyond `RECENT_ERRORS_PER_CORE_MAX`.
    pub fn record(&self, error: RecentError) {
        let mut ring = self
            .ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if ring.len() == RECENT_ERRORS_PER_CORE_MAX {
            ring.pop_front();
        }
        ring.push_back(error);
    }

    /// What the ring holds, oldest first.
    pub fn snapshot(&self) -> Vec<RecentError> {
        let ring = self
            .ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        ring.iter().cloned().collect()
    }
}

/// Every core's recent errors merged, newest first, at most `count_max`.
pub fn merge_newest_first<'a>(
    rings: impl Iterator<Item = &'a RecentErrors>,
    count_max: usize,
) -> Vec<RecentError> {
    let mut all: Vec<RecentError> = rings.flat_map(RecentErrors::snapshot).collect();
    all.sort_by_key(|error| std::cmp::Reverse(error.time_ms));
    all.truncate(count_max);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(time_ms: i64) -> RecentError {
        RecentError {
            time_ms,
            request_id: time_ms.to_string(),
            core: 0,
            operation: "GetObject",
            status: 404,
            code: "NoSuchKey",
            method: "GET",
            path: "/b/k".into(),
            access_key: String::new(),
        }
    }

    // Goal: a ring keeps only the newest entries, and merging orders cores' entries by time.
    #[test]
    fn keeps_the_newest_and_merges_by_time() {
        let (first, second) = (RecentErrors::default(), RecentErrors::default());
        for time_ms in 0..(RECENT_ERRORS_PER_CORE_MAX as i64 + 5) {
            first.record(error(time_ms * 2));
        }
        second.record(error(1_000_001));
        let snapshot = first.snapshot();
        assert_eq!(snapshot.len(), RECENT_ERRORS_PER_CORE_MAX);
        assert_eq!(snapshot[0].time_ms, 10);
        let merged = merge_newest_first([&first, &second].into_iter(), 3);
        let times: Vec<i64> = merged.iter().map(|error| error.time_ms).collect();
        let newest = (RECENT_ERRORS_PER_CORE_MAX as i64 + 4) * 2;
        assert_eq!(times, [1_000_001, newest, newest - 2]);
    }
}
