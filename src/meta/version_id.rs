//! Version ids: what a `versionId` names (the `null` version or one opaque id), and how ids are
//! made. An id carries its version's sequence number, so a lookup by id is one primary-key seek.
//!
//! S3 User Guide, "How S3 Versioning works": version ids are opaque, unique, URL-safe strings;
//! objects written while versioning was never enabled (or was suspended) have the id `null`.

use std::fmt;

/// The id S3 gives versions written while versioning was off or suspended.
pub const NULL_VERSION_ID: &str = "null";

/// Hex digits of the sequence number at the front of an id.
const SEQUENCE_DIGITS: usize = 16;

/// Hex digits of randomness after it: ids stay unique even if a key's sequence numbers repeat
/// after all its versions were deleted and the clock went back.
const RANDOM_DIGITS: usize = 16;

/// Sequence numbers per millisecond: a version's sequence is at least its write time in ms
/// times this, so versions written in one millisecond still order.
pub const SEQUENCE_PER_MS: i64 = 1 << 16;

/// One version's id (never `null`): its sequence number (newest is largest for its key) and its
/// text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionId {
    sequence: i64,
    text: String,
}

impl VersionId {
    /// A fresh id for the version with this sequence number.
    pub fn generate(sequence: i64) -> Self {
        debug_assert!(sequence >= 0);
        VersionId {
            sequence,
            text: format!("{sequence:016x}{:016x}", fastrand::u64(..)),
        }
    }

    /// The id `text` if it has the shape ringstore gives ids; `None` otherwise.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != SEQUENCE_DIGITS + RANDOM_DIGITS
            || !text
                .bytes()
                .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        let sequence = i64::from_str_radix(&text[..SEQUENCE_DIGITS], 16).ok()?;
        Some(VersionId {
            sequence,
            text: text.to_string(),
        })
    }

    /// The sequence number: orders the versions of one key, newest largest.
    pub fn sequence(&self) -> i64 {
        self.sequence
    }

    /// The id as clients see it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

/// What a request's `versionId` names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VersionSelector {
    /// `versionId=null`: the version written while versioning was off or suspended.
    Null,
    /// One version by its id.
    Id(VersionId),
}

impl VersionSelector {
    /// `text` as a selector; `None` when it is neither `null` nor an id ringstore could have
    /// given (S3 answers 400 InvalidArgument "Invalid version id specified" to those).
    pub fn parse(text: &str) -> Option<Self> {
        if text == NULL_VERSION_ID {
            Some(VersionSelector::Null)
        } else {
            VersionId::parse(text).map(VersionSelector::Id)
        }
    }

    /// The id as clients see it (`null` for the null version).
    pub fn as_str(&self) -> &str {
        match self {
            VersionSelector::Null => NULL_VERSION_ID,
            VersionSelector::Id(id) => id.as_str(),
        }
    }

    /// Whether a version whose stored id is `stored` (`None`: the null version) is this one.
    pub fn names(&self, stored: Option<&str>) -> bool {
        match (self, stored) {
            (VersionSelector::Null, None) => true,
            (VersionSelector::Id(id), Some(stored)) => id.as_str() == stored,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_foreign_shapes() {
        // Goal: a generated id parses back to its sequence, two ids of one sequence differ, and
        // anything else (other lengths, upper case, non-hex) is not an id.
        let id = VersionId::generate(0x1234_5678_9abc);
        assert_eq!(id.as_str().len(), 32);
        let parsed = VersionId::parse(id.as_str()).unwrap();
        assert_eq!(parsed, id);
        assert_eq!(parsed.sequence(), 0x1234_5678_9abc);
        assert_ne!(VersionId::generate(7), VersionId::generate(7));
        for bad in [
            "",
            "abc",
            &id.as_str().to_uppercase(),
            &format!("{}g", &id.as_str()[..31]),
        ] {
            assert_eq!(VersionId::parse(bad), None, "{bad}");
        }
        assert_eq!(VersionSelector::parse("null"), Some(VersionSelector::Null));
        assert_eq!(VersionSelector::parse("NULL"), None);
        assert!(VersionSelector::Null.names(None));
        assert!(!VersionSelector::Null.names(Some(id.as_str())));
        assert!(VersionSelector::Id(id.clone()).names(Some(id.as_str())));
    }
}
