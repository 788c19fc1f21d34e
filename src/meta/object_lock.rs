//! Object Lock: a version's retention (mode and retain-until date) and legal hold, a bucket's
//! default retention, and the one function that decides whether a version may be removed —
//! every removal path of `versions` calls `check_removable`.
//!
//! Sources: S3 User Guide, "Locking objects with Object Lock" (retention modes, legal holds,
//! bypassing governance mode); S3 API Reference, PutObjectRetention / PutObjectLegalHold /
//! PutObjectLockConfiguration.

use super::MetaError;

/// Milliseconds in a day, for default retention periods.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Longest default retention in days ringstore accepts (ours: 100 years, so every retain-until
/// date stays within ISO 8601's four-digit years; S3 documents no figure).
pub const DEFAULT_RETENTION_DAYS_MAX: u32 = 36_500;

/// Longest default retention in years (the same bound as `DEFAULT_RETENTION_DAYS_MAX`).
pub const DEFAULT_RETENTION_YEARS_MAX: u32 = 100;

/// S3's retention modes (`ObjectLockMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectLockMode {
    /// Removable before the date only with `x-amz-bypass-governance-retention` and the permission.
    Governance,
    /// Removable by no one before the date; the date can only be extended.
    Compliance,
}

impl ObjectLockMode {
    /// As S3 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectLockMode::Governance => "GOVERNANCE",
            ObjectLockMode::Compliance => "COMPLIANCE",
        }
    }

    /// S3's spelling back to the mode.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "GOVERNANCE" => Some(ObjectLockMode::Governance),
            "COMPLIANCE" => Some(ObjectLockMode::Compliance),
            _ => None,
        }
    }
}

/// A retention: a mode until a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The mode.
    pub mode: ObjectLockMode,
    /// Until when, milliseconds since the Unix epoch.
    pub retain_until_ms: i64,
}

/// One version's protection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectLock {
    /// Its retention, if it has one.
    pub retention: Option<Retention>,
    /// A legal hold is on (`x-amz-object-lock-legal-hold: ON`).
    pub legal_hold: bool,
}

impl ObjectLock {
    /// Text form for a multipart upload's row (`MODE:until_ms:hold`).
    pub fn encode(&self) -> String {
        let (mode, until) = match self.retention {
            Some(retention) => (retention.mode.as_str(), retention.retain_until_ms),
            None => ("", 0),
        };
        format!("{mode}:{until}:{}", u8::from(self.legal_hold))
    }

    /// `encode`'s text back; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let mut fields = text.split(':');
        let (mode, until, hold) = (fields.next()?, fields.next()?, fields.next()?);
        let retention = match mode {
            "" => None,
            mode => Some(Retention {
                mode: ObjectLockMode::parse(mode)?,
                retain_until_ms: until.parse().ok()?,
            }),
        };
        Some(ObjectLock {
            retention,
            legal_hold: hold == "1",
        })
    }
}

/// A bucket's default retention period (`DefaultRetention`: `Days` or `Years`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionPeriod {
    /// So many days.
    Days(u32),
    /// So many years (of 365 days, as S3 counts them).
    Years(u32),
}

/// A bucket's Object Lock configuration: enabled, with an optional default retention.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BucketObjectLock {
    /// Applied to new versions written without a retention of their own.
    pub default_retention: Option<(ObjectLockMode, RetentionPeriod)>,
}

impl BucketObjectLock {
    /// Text form for the bucket row (`Enabled`, or `Enabled:MODE:D30` / `Enabled:MODE:Y1`).
    pub fn encode(&self) -> String {
        match self.default_retention {
            None => "Enabled".to_string(),
            Some((mode, RetentionPeriod::Days(days))) => {
                format!("Enabled:{}:D{days}", mode.as_str())
            }
            Some((mode, RetentionPeriod::Years(years))) => {
                format!("Enabled:{}:Y{years}", mode.as_str())
            }
        }
    }

    /// `encode`'s text back; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let mut fields = text.split(':');
        if fields.next()? != "Enabled" {
            return None;
        }
        let Some(mode) = fields.next() else {
            return Some(BucketObjectLock::default());
        };
        let mode = ObjectLockMode::parse(mode)?;
        let period = fields.next()?;
        let count: u32 = period.get(1..)?.parse().ok()?;
        let period = match period.as_bytes().first()? {
            b'D' => RetentionPeriod::Days(count),
            b'Y' => RetentionPeriod::Years(count),
            _ => return None,
        };
        Some(BucketObjectLock {
            default_retention: Some((mode, period)),
        })
    }

    /// The retention a version written at `written_ms` gets by default.
    pub fn default_for(&self, written_ms: i64) -> Option<Retention> {
        self.default_retention.map(|(mode, period)| {
            let days = match period {
                RetentionPeriod::Days(days) => i64::from(days),
                RetentionPeriod::Years(years) => i64::from(years) * 365,
            };
            Retention {
                mode,
                retain_until_ms: written_ms.saturating_add(days.saturating_mul(DAY_MS)),
            }
        })
    }
}

/// Whether a version protected by `lock` may be removed at `now_ms`. `bypass_governance` is true
/// only when the request carried `x-amz-bypass-governance-retention: true` and the requester
/// holds that permission (the S3 layer decides both). A legal hold blocks removal whatever the
/// mode; COMPLIANCE blocks it until the date passes, for everyone; GOVERNANCE until then unless
/// bypassed. Every path that removes a version (DeleteObject and DeleteObjects by version id, a
/// write or delete replacing the null version, bucket deletion through its emptiness check, any
/// future lifecycle or admin path) goes through here.
pub fn check_removable(
    lock: &ObjectLock,
    now_ms: i64,
    bypass_governance: bool,
) -> Result<(), MetaError> {
    if lock.legal_hold {
        return Err(MetaError::ObjectLocked);
    }
    match lock.retention {
        Some(retention) if retention.retain_until_ms > now_ms => match retention.mode {
            ObjectLockMode::Compliance => Err(MetaError::ObjectLocked),
            ObjectLockMode::Governance if bypass_governance => Ok(()),
            ObjectLockMode::Governance => Err(MetaError::ObjectLocked),
        },
        _ => Ok(()),
    }
}

/// Whether `current` may be replaced by `wanted` (PutObjectRetention) at `now_ms`: a retention
/// can always be extended in its mode; shortening it, removing it or changing its mode needs an
/// expired retention, or a GOVERNANCE one bypassed; COMPLIANCE never yields before its date.
pub fn check_retention_change(
    current: Option<Retention>,
    wanted: Option<Retention>,
    now_ms: i64,
    bypass_governance: bool,
) -> Result<(), MetaError> {
    let Some(current) = current.filter(|retention| retention.retain_until_ms > now_ms) else {
        return Ok(());
    };
    let extends = wanted.is_some_and(|wanted| {
        wanted.mode == current.mode && wanted.retain_until_ms >= current.retain_until_ms
    });
    match current.mode {
        _ if extends => Ok(()),
        ObjectLockMode::Governance if bypass_governance => Ok(()),
        _ => Err(MetaError::ObjectLocked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn lock(mode: ObjectLockMode, until: i64, hold: bool) -> ObjectLock {
        ObjectLock {
            retention: Some(Retention {
                mode,
                retain_until_ms: until,
            }),
            legal_hold: hold,
        }
    }

    #[test]
    fn removal_follows_mode_date_hold_and_bypass() {
        // Goal: the truth table of S3's Object Lock for removing a version.
        use ObjectLockMode::*;
        let cases = [
            (ObjectLock::default(), false, true),
            (lock(Governance, NOW + 1, false), false, false),
            (lock(Governance, NOW + 1, false), true, true),
            (lock(Governance, NOW, false), false, true),
            (lock(Compliance, NOW + 1, false), true, false),
            (lock(Compliance, NOW - 1, false), false, true),
            (lock(Governance, NOW - 1, true), true, false),
            (
                ObjectLock {
                    retention: None,
                    legal_hold: true,
                },
                true,
                false,
            ),
        ];
        for (lock, bypass, removable) in cases {
            assert_eq!(
                check_removable(&lock, NOW, bypass).is_ok(),
                removable,
                "{lock:?} bypass {bypass}"
            );
        }
    }

    #[test]
    fn retention_extends_freely_and_shortens_only_as_s3_allows() {
        // Goal: extending in the same mode always works; shortening, removing or switching mode
        // works on GOVERNANCE with bypass only, never on COMPLIANCE before its date.
        use ObjectLockMode::*;
        let retention = |mode, until| {
            Some(Retention {
                mode,
                retain_until_ms: until,
            })
        };
        let change =
            |current, wanted, bypass| check_retention_change(current, wanted, NOW, bypass).is_ok();
        assert!(change(
            retention(Compliance, NOW + 10),
            retention(Compliance, NOW + 20),
            false
        ));
        assert!(!change(
            retention(Compliance, NOW + 10),
            retention(Compliance, NOW + 5),
            true
        ));
        assert!(!change(
            retention(Compliance, NOW + 10),
            retention(Governance, NOW + 20),
            true
        ));
        assert!(!change(retention(Compliance, NOW + 10), None, true));
        assert!(!change(
            retention(Governance, NOW + 10),
            retention(Governance, NOW + 5),
            false
        ));
        assert!(change(
            retention(Governance, NOW + 10),
            retention(Governance, NOW + 5),
            true
        ));
        assert!(!change(
            retention(Governance, NOW + 10),
            retention(Compliance, NOW + 20),
            false
        ));
        assert!(change(retention(Governance, NOW + 10), None, true));
        assert!(change(retention(Compliance, NOW - 1), None, false));
        assert!(change(None, retention(Governance, NOW + 5), false));
    }

    #[test]
    fn encodings_round_trip() {
        // Goal: what the rows store reads back the same.
        let locks = [
            ObjectLock::default(),
            lock(ObjectLockMode::Compliance, 1_900_000_000_000, true),
        ];
        for lock in locks {
            assert_eq!(ObjectLock::decode(&lock.encode()), Some(lock));
        }
        for config in [
            BucketObjectLock::default(),
            BucketObjectLock {
                default_retention: Some((ObjectLockMode::Governance, RetentionPeriod::Days(30))),
            },
            BucketObjectLock {
                default_retention: Some((ObjectLockMode::Compliance, RetentionPeriod::Years(2))),
            },
        ] {
            assert_eq!(BucketObjectLock::decode(&config.encode()), Some(config));
        }
    }
}
