//! The server's tier settings, from their flags' (or environment variables') text: each checked
//! against its range, a bad one refused with a line naming the flag.

use crate::limits::{TIER_GARBAGE_GRACE_MS, TIER_METADATA_INTERVAL_SECONDS};

/// The longest grace period and metadata interval, in seconds (a week).
const SETTING_SECONDS_MAX: u64 = 7 * 24 * 3600;

/// The largest bandwidth limit and read cache, in megabytes (a terabyte per second; a terabyte).
const SETTING_MEGABYTES_MAX: u64 = 1_000_000;

/// The tier settings' texts, as given (or their defaults: `TierTexts::DEFAULT_*`).
pub struct TierTexts {
    /// `--tier-garbage-grace-seconds`.
    pub garbage_grace_seconds: String,
    /// `--tier-metadata-interval-seconds`.
    pub metadata_interval_seconds: String,
    /// `--tier-bandwidth-mbps`.
    pub bandwidth_mbps: String,
    /// `--tier-cache-mb`.
    pub cache_mb: String,
}

impl TierTexts {
    /// `--tier-garbage-grace-seconds`' default.
    pub fn default_garbage_grace_seconds() -> String {
        (TIER_GARBAGE_GRACE_MS / 1000).to_string()
    }

    /// `--tier-metadata-interval-seconds`' default.
    pub fn default_metadata_interval_seconds() -> String {
        TIER_METADATA_INTERVAL_SECONDS.to_string()
    }
}

/// The tier settings, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierSettings {
    /// How long an unreferenced upstream object waits before its deletion, in milliseconds.
    pub garbage_grace_ms: i64,
    /// How often the metadata is shipped when it changed, in seconds (0: never).
    pub metadata_interval_seconds: u64,
    /// The mover's upload rate limit, bytes per second (0: none).
    pub bandwidth_bytes_per_second: u64,
    /// The remote read cache's size, in bytes (0: no cache).
    pub read_cache_bytes: u64,
}

/// Parses `text` as a whole number up to `max`, or says what `flag` expects.
fn number(text: &str, max: u64, flag: &str, expected: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .ok()
        .filter(|value| *value <= max)
        .ok_or_else(|| format!("invalid {flag} {text:?}: expected {expected}"))
}

/// Checks every setting; the first bad one's line.
pub fn parse(texts: &TierTexts) -> Result<TierSettings, String> {
    let grace_seconds = number(
        &texts.garbage_grace_seconds,
        SETTING_SECONDS_MAX,
        "--tier-garbage-grace-seconds",
        "seconds, 0 to 604800",
    )?;
    let metadata_interval_seconds = number(
        &texts.metadata_interval_seconds,
        SETTING_SECONDS_MAX,
        "--tier-metadata-interval-seconds",
        "seconds, 0 to 604800",
    )?;
    let bandwidth_megabytes = number(
        &texts.bandwidth_mbps,
        SETTING_MEGABYTES_MAX,
        "--tier-bandwidth-mbps",
        "megabytes per second, 0 (no limit) to 1000000",
    )?;
    let cache_megabytes = number(
        &texts.cache_mb,
        SETTING_MEGABYTES_MAX,
        "--tier-cache-mb",
        "megabytes, 0 (no cache) to 1000000",
    )?;
    Ok(TierSettings {
        garbage_grace_ms: grace_seconds as i64 * 1000,
        metadata_interval_seconds,
        bandwidth_bytes_per_second: bandwidth_megabytes * 1_000_000,
        read_cache_bytes: cache_megabytes * 1_000_000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(grace: &str, interval: &str, bandwidth: &str, cache: &str) -> TierTexts {
        TierTexts {
            garbage_grace_seconds: grace.into(),
            metadata_interval_seconds: interval.into(),
            bandwidth_mbps: bandwidth.into(),
            cache_mb: cache.into(),
        }
    }

    // Goal: good values convert to their units; each bad one is refused with its flag named.
    #[test]
    fn checks_each_setting() {
        assert_eq!(
            parse(&texts("60", "300", "40", "512")).unwrap(),
            TierSettings {
                garbage_grace_ms: 60_000,
                metadata_interval_seconds: 300,
                bandwidth_bytes_per_second: 40_000_000,
                read_cache_bytes: 512_000_000,
            }
        );
        for (bad, flag) in [
            (texts("-1", "0", "0", "0"), "--tier-garbage-grace-seconds"),
            (
                texts("0", "604801", "0", "0"),
                "--tier-metadata-interval-seconds",
            ),
            (texts("0", "0", "x", "0"), "--tier-bandwidth-mbps"),
            (texts("0", "0", "0", "1000001"), "--tier-cache-mb"),
            (texts("0", "0", "0", ""), "--tier-cache-mb"),
        ] {
            let line = parse(&bad).unwrap_err();
            assert!(line.starts_with(&format!("invalid {flag} ")), "{line}");
        }
    }
}
