//! ringstore: a drop-in S3 endpoint for local disk.
//!
//! Data flows one way: `runtime` starts the cores; `net` reads requests; `http` parses bytes;
//! `service` sends admin paths aside and the rest to `s3::pipeline`, which resolves, routes,
//! authenticates (`s3::auth`) and runs one `s3::ops` handler; handlers authorize with
//! `s3::access` (ACLs) over the per-core user and bucket caches of `s3::directory` and the object
//! records of `s3::object_cache` (exact: `meta::Generations` counts every write), and use
//! `storage` for bytes and `meta::client` for metadata (served by one SQLite thread). Objects up
//! to `--max-inline-size` never become files: `storage::ObjectWriter` keeps them in memory and
//! `meta` stores them in the same commit as their row (`meta::ObjectBody::Inline`). Files are
//! written with O_DIRECT; `storage::read_path` sends a GET of a cold file to O_DIRECT and of a
//! hot one (cached, or read lately on this core) through the page cache. Both per-core memories
//! (recent files, object records) are `recent::RecentMap`s.
//!
//! Dependency rule: `storage` and `meta` never import `s3`, `http` or `net`; `s3::ops` never touches
//! sockets or SQL; glommio types stay in `runtime`, `net`, `storage` and `meta::client`.
//!
//! Glossary: **chunk** = a framed piece of a request body (HTTP chunked or aws-chunked);
//! **block** = an aligned DMA buffer; **part** = a multipart-upload part; **inline object** = an
//! object whose bytes live in the metadata database.
#![warn(missing_docs)]

pub mod admin;
pub mod config;
pub mod core_state;
pub mod http;
pub mod limits;
pub mod meta;
pub mod net;
pub mod object_bytes;
pub mod obs;
pub mod recent;
pub mod runtime;
pub mod s3;
pub mod secret;
pub mod service;
pub mod storage;
