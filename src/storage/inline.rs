//! `InlineBytes`: a small object's bytes, kept in the metadata database instead of a file so that
//! one WAL commit makes data and metadata durable together.

use std::fmt;
use std::sync::Arc;

/// The bytes of an object stored inline; cheap to clone (shared), printed by length only.
/// An `Arc<Vec>`, not an `Arc<[u8]>`: wrapping the buffer a read or an upload filled costs no copy.
#[derive(Clone, PartialEq, Eq)]
pub struct InlineBytes(Arc<Vec<u8>>);

impl InlineBytes {
    /// Wraps bytes already read.
    pub fn new(bytes: Vec<u8>) -> Self {
        InlineBytes(Arc::new(bytes))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the object is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for InlineBytes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "InlineBytes({} bytes)", self.0.len())
    }
}
