//! A bucket's access settings beyond its ACL: its policy (the document as sent, compiled with
//! `policy::BucketPolicy` when the row is read, so the cores' bucket cache holds it compiled) and
//! its PublicAccessBlock flags, and the commands that replace or remove them.

use std::sync::Arc;

use rusqlite::Transaction;

use super::bucket_column::update_bucket;
use super::command::{Changes, MetaCommand};
use super::MetaError;
use crate::policy::BucketPolicy;

/// PublicAccessBlockConfiguration (S3 API Reference): each flag off unless set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublicAccessBlock {
    /// Refuse requests that set a public ACL.
    pub block_public_acls: bool,
    /// Ignore public grants in ACLs.
    pub ignore_public_acls: bool,
    /// Refuse a public bucket policy.
    pub block_public_policy: bool,
    /// A public policy gives nothing to anyone but the bucket's owner.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// The stored form: four `0`/`1` flags in S3's order.
    pub fn encode(&self) -> String {
        [
            self.block_public_acls,
            self.ignore_public_acls,
            self.block_public_policy,
            self.restrict_public_buckets,
        ]
        .iter()
        .map(|flag| if *flag { '1' } else { '0' })
        .collect()
    }

    /// `encode`'s text back; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let flags: Vec<bool> = text
            .chars()
            .map(|c| match c {
                '0' => Some(false),
                '1' => Some(true),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let [block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets] =
            flags[..]
        else {
            return None;
        };
        Some(PublicAccessBlock {
            block_public_acls,
            ignore_public_acls,
            block_public_policy,
            restrict_public_buckets,
        })
    }
}

/// The stored policy of bucket `bucket`, compiled; an unreadable one (never written by this
/// version, which validates at PUT) is logged and read as none.
pub(crate) fn decode_policy(bucket: &str, text: &str) -> Option<Arc<BucketPolicy>> {
    match BucketPolicy::parse(text, bucket) {
        Ok(policy) => Some(Arc::new(policy)),
        Err(error) => {
            tracing::error!(bucket, %error, "stored bucket policy unreadable; the bucket answers as if it had none");
            None
        }
    }
}

/// Replaces (or with `None` removes) a bucket's policy (validated by the caller).
#[derive(Debug)]
pub struct PutBucketPolicy {
    /// Bucket name.
    pub bucket: String,
    /// The document as sent; `None` deletes the policy.
    pub policy: Option<String>,
}

impl MetaCommand for PutBucketPolicy {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        update_bucket(transaction, "policy", &self.bucket, self.policy.as_deref())
    }

    fn changes(&self) -> Changes<'_> {
        // The policy lives in the bucket record the cores cache.
        Changes::Buckets
    }
}

/// Replaces (or with `None` removes) a bucket's PublicAccessBlock configuration.
#[derive(Debug)]
pub struct PutPublicAccessBlock {
    /// Bucket name.
    pub bucket: String,
    /// The flags; `None` deletes the configuration.
    pub block: Option<PublicAccessBlock>,
}

impl MetaCommand for PutPublicAccessBlock {
    type Reply = ();

    fn apply(&self, transaction: &Transaction<'_>) -> Result<(), MetaError> {
        let encoded = self.block.as_ref().map(PublicAccessBlock::encode);
        update_bucket(
            transaction,
            "public_access_block",
            &self.bucket,
            encoded.as_deref(),
        )
    }

    fn changes(&self) -> Changes<'_> {
        Changes::Buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_access_block_round_trips() {
        // Goal: every combination of flags reads back as written; other text is refused.
        for bits in 0..16u8 {
            let block = PublicAccessBlock {
                block_public_acls: bits & 1 != 0,
                ignore_public_acls: bits & 2 != 0,
                block_public_policy: bits & 4 != 0,
                restrict_public_buckets: bits & 8 != 0,
            };
            assert_eq!(PublicAccessBlock::decode(&block.encode()), Some(block));
        }
        assert_eq!(PublicAccessBlock::decode("101"), None);
        assert_eq!(PublicAccessBlock::decode("10x1"), None);
    }
}
