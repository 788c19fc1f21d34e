//! Name/value pairs kept as spans of one text buffer (a request head's fields, a decoded query):
//! one vector of offsets instead of a `String` per name and value.

/// Where each pair's name starts, where its value starts (the name's end) and where its value
/// ends, in a text its owner keeps beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairSpans(Vec<[u32; 3]>);

impl PairSpans {
    /// Room for `count` pairs.
    pub fn with_capacity(count: usize) -> Self {
        PairSpans(Vec::with_capacity(count))
    }

    /// Adds the pair `text[name_start..value_start]`, `text[value_start..value_end]`.
    pub fn push(&mut self, name_start: usize, value_start: usize, value_end: usize) {
        self.0
            .push([offset(name_start), offset(value_start), offset(value_end)]);
    }

    /// The pairs in order, as slices of `text` (the text they were pushed for).
    pub fn iter<'a>(
        &'a self,
        text: &'a str,
    ) -> impl DoubleEndedIterator<Item = (&'a str, &'a str)> + ExactSizeIterator + Clone + 'a {
        self.0.iter().map(move |&[name, value, end]| {
            (
                &text[name as usize..value as usize],
                &text[value as usize..end as usize],
            )
        })
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A position as stored: the texts are parts of a request head (at most a few times
/// `HEADER_BYTES_MAX`), far below 4 GiB.
fn offset(position: usize) -> u32 {
    u32::try_from(position).expect("a request's text fits in u32 offsets")
}
