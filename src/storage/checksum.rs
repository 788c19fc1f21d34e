//! The flexible checksums S3 accepts (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), computed
//! incrementally while bytes stream; CRCs on crc-fast (SIMD, the implementation the AWS SDKs use).

use sha1::Sha1;
use sha2::{Digest as _, Sha256};

/// A checksum algorithm, named as S3 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumAlgorithm {
    /// CRC-32 (ISO-HDLC), 4 bytes.
    Crc32,
    /// CRC-32C (Castagnoli / iSCSI), 4 bytes.
    Crc32c,
    /// CRC-64/NVME, 8 bytes.
    Crc64Nvme,
    /// SHA-1, 20 bytes.
    Sha1,
    /// SHA-256, 32 bytes.
    Sha256,
}

/// Every algorithm, in S3's documentation order.
pub const CHECKSUM_ALGORITHMS: [ChecksumAlgorithm; 5] = [
    ChecksumAlgorithm::Crc32,
    ChecksumAlgorithm::Crc32c,
    ChecksumAlgorithm::Crc64Nvme,
    ChecksumAlgorithm::Sha1,
    ChecksumAlgorithm::Sha256,
];

impl ChecksumAlgorithm {
    /// Every algorithm S3 offers.
    pub const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];

    /// `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`.
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// The header carrying it: `x-amz-checksum-crc32` and so on.
    pub fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The XML element carrying it: `ChecksumCRC32` and so on.
    pub fn element_name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "ChecksumCRC32",
            ChecksumAlgorithm::Crc32c => "ChecksumCRC32C",
            ChecksumAlgorithm::Crc64Nvme => "ChecksumCRC64NVME",
            ChecksumAlgorithm::Sha1 => "ChecksumSHA1",
            ChecksumAlgorithm::Sha256 => "ChecksumSHA256",
        }
    }

    /// Parses an algorithm name (case-insensitive) as in `x-amz-sdk-checksum-algorithm`.
    pub fn from_name(name: &str) -> Option<Self> {
        CHECKSUM_ALGORITHMS
            .into_iter()
            .find(|algorithm| algorithm.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The algorithm whose header this is (lower-case name).
    pub fn from_header(header: &str) -> Option<Self> {
        CHECKSUM_ALGORITHMS
            .into_iter()
            .find(|algorithm| algorithm.header_name().eq_ignore_ascii_case(header.trim()))
    }

    /// Digest length in bytes.
    pub fn digest_bytes(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Crc64Nvme => 8,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }

    /// Whether it is a CRC (and so can be combined into a full-object checksum).
    pub fn is_crc(self) -> bool {
        matches!(
            self,
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c | ChecksumAlgorithm::Crc64Nvme
        )
    }

    fn crc(self) -> Option<crc_fast::CrcAlgorithm> {
        match self {
            ChecksumAlgorithm::Crc32 => Some(crc_fast::CrcAlgorithm::Crc32IsoHdlc),
            ChecksumAlgorithm::Crc32c => Some(crc_fast::CrcAlgorithm::Crc32Iscsi),
            ChecksumAlgorithm::Crc64Nvme => Some(crc_fast::CrcAlgorithm::Crc64Nvme),
            _ => None,
        }
    }
}

/// An incremental checksum.
pub enum ChecksumHasher {
    /// A CRC.
    Crc(ChecksumAlgorithm, crc_fast::Digest),
    /// SHA-1.
    Sha1(Sha1),
    /// SHA-256.
    Sha256(Sha256),
}

impl ChecksumHasher {
    /// A fresh hasher for `algorithm`.
    pub fn new(algorithm: ChecksumAlgorithm) -> Self {
        match algorithm.crc() {
            Some(crc) => ChecksumHasher::Crc(algorithm, crc_fast::Digest::new(crc)),
            None if algorithm == ChecksumAlgorithm::Sha1 => ChecksumHasher::Sha1(Sha1::new()),
            None => ChecksumHasher::Sha256(Sha256::new()),
        }
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            ChecksumHasher::Crc(_, digest) => digest.update(bytes),
            ChecksumHasher::Sha1(hasher) => hasher.update(bytes),
            ChecksumHasher::Sha256(hasher) => hasher.update(bytes),
        }
    }

    /// The digest, big-endian as S3 encodes it.
    pub fn finalize(self) -> Vec<u8> {
        match self {
            ChecksumHasher::Crc(algorithm, digest) => {
                let value = digest.finalize();
                if algorithm.digest_bytes() == 4 {
                    (value as u32).to_be_bytes().to_vec()
                } else {
                    value.to_be_bytes().to_vec()
                }
            }
            ChecksumHasher::Sha1(hasher) => hasher.finalize().to_vec(),
            ChecksumHasher::Sha256(hasher) => hasher.finalize().to_vec(),
        }
    }
}

/// One-shot digest of `bytes`.
pub fn checksum_of(algorithm: ChecksumAlgorithm, bytes: &[u8]) -> Vec<u8> {
    let mut hasher = ChecksumHasher::new(algorithm);
    hasher.update(bytes);
    hasher.finalize()
}

/// The CRC of `a ‖ b` from the CRCs of `a` and `b` (and `b`'s length): a full-object checksum from
/// part checksums without reading the parts again. `None` for SHA algorithms.
pub fn combine_crc(
    algorithm: ChecksumAlgorithm,
    first: &[u8],
    second: &[u8],
    second_bytes: u64,
) -> Option<Vec<u8>> {
    let crc = algorithm.crc()?;
    let value = |bytes: &[u8]| {
        bytes
            .iter()
            .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte))
    };
    let combined = crc_fast::checksum_combine(crc, value(first), value(second), second_bytes);
    Some(if algorithm.digest_bytes() == 4 {
        (combined as u32).to_be_bytes().to_vec()
    } else {
        combined.to_be_bytes().to_vec()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values_of_each_algorithm() {
        // Goal: each algorithm gives its published check value for "123456789".
        let check = b"123456789";
        assert_eq!(
            hex::encode(checksum_of(ChecksumAlgorithm::Crc32, check)),
            "cbf43926"
        );
        assert_eq!(
            hex::encode(checksum_of(ChecksumAlgorithm::Crc32c, check)),
            "e3069283"
        );
        assert_eq!(
            hex::encode(checksum_of(ChecksumAlgorithm::Crc64Nvme, check)),
            "ae8b14860a799888"
        );
        assert_eq!(
            hex::encode(checksum_of(ChecksumAlgorithm::Sha1, check)),
            "f7c3bc1d808e04732adf679965ccc34ca7ae3441"
        );
        assert_eq!(checksum_of(ChecksumAlgorithm::Sha256, check).len(), 32);
    }

    #[test]
    fn combined_crcs_equal_the_whole() {
        // Goal: combining part CRCs gives the CRC of the concatenation (full-object checksums).
        let (a, b) = (b"hello ".as_slice(), b"multipart world".as_slice());
        for algorithm in [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme,
        ] {
            let whole = checksum_of(algorithm, &[a, b].concat());
            let combined = combine_crc(
                algorithm,
                &checksum_of(algorithm, a),
                &checksum_of(algorithm, b),
                b.len() as u64,
            )
            .unwrap();
            assert_eq!(combined, whole, "{algorithm:?}");
        }
        assert_eq!(
            ChecksumAlgorithm::from_name("crc64nvme"),
            Some(ChecksumAlgorithm::Crc64Nvme)
        );
        assert_eq!(
            ChecksumAlgorithm::from_header("x-amz-checksum-sha1"),
            Some(ChecksumAlgorithm::Sha1)
        );
    }
}

/// A checksum as kept with an object: algorithm, whether it covers the whole object
/// (`FULL_OBJECT`) or is a checksum of part checksums (`COMPOSITE`), and the base64 value
/// (composite values end in `-<parts>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChecksum {
    /// Algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// `FULL_OBJECT` (true) or `COMPOSITE` (false).
    pub full_object: bool,
    /// Base64 value as S3 shows it.
    pub value: String,
}

impl StoredChecksum {
    /// `FULL_OBJECT` or `COMPOSITE`.
    pub fn type_name(&self) -> &'static str {
        if self.full_object {
            "FULL_OBJECT"
        } else {
            "COMPOSITE"
        }
    }

    /// The text kept in the metadata: `ALGORITHM:TYPE:value`.
    pub fn encode(&self) -> String {
        format!(
            "{}:{}:{}",
            self.algorithm.name(),
            self.type_name(),
            self.value
        )
    }

    /// Parses [`StoredChecksum::encode`]'s text.
    pub fn decode(text: &str) -> Option<Self> {
        let mut fields = text.splitn(3, ':');
        let algorithm = ChecksumAlgorithm::from_name(fields.next()?)?;
        let full_object = fields.next()? == "FULL_OBJECT";
        Some(StoredChecksum {
            algorithm,
            full_object,
            value: fields.next()?.to_string(),
        })
    }
}
