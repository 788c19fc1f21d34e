//! An object's bytes on disk as a streamed response body: `storage::ObjectReader` (and its
//! decrypting form) seen through
//! `http::BodyStream`, so `net` sends it without knowing where the bytes come from.

use std::io;

use crate::http::{BodyStream, LocalFuture};
use crate::storage::decrypting_reader::DecryptingReader;
use crate::storage::ObjectReader;

impl BodyStream for ObjectReader {
    fn remaining(&self) -> u64 {
        ObjectReader::remaining(self)
    }

    fn next_block(&mut self) -> LocalFuture<'_, io::Result<()>> {
        Box::pin(self.advance())
    }

    fn block(&self) -> &[u8] {
        self.current_block()
    }

    fn close(self: Box<Self>) -> LocalFuture<'static, ()> {
        Box::pin(ObjectReader::close(*self))
    }
}

impl BodyStream for DecryptingReader {
    fn remaining(&self) -> u64 {
        DecryptingReader::remaining(self)
    }

    fn next_block(&mut self) -> LocalFuture<'_, io::Result<()>> {
        Box::pin(self.advance())
    }

    fn block(&self) -> &[u8] {
        self.current_block()
    }

    fn close(self: Box<Self>) -> LocalFuture<'static, ()> {
        Box::pin(DecryptingReader::close(*self))
    }
}
