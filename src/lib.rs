//! ringstore: a drop-in S3 endpoint for local disk.
//!
//! Data flows one way: `runtime` starts the metadata threads (the writer, and a read-only reader)
//! and one glommio core each with its `core_state::CoreState` (config, data dir, metadata
//! client, metrics, shutdown) and its `service::Service`; `net` reads requests and serves any `net::Service` (it knows neither
//! `service` nor `s3`); `http` parses bytes and owns the response type (`http::Response`, bodies
//! streamed through `http::BodyStream`). `service` sends admin paths to `admin`, the reserved
//! `/_ringstore/` prefix to `admin_api` (the JSON admin API, signed like S3 and authenticated by
//! `s3::pipeline`, and the web console's embedded files), and the rest to `s3::pipeline`, which
//! resolves, routes (`s3::router` → `s3::operation::Operation`, the one table of operations), authenticates (`s3::auth`) and runs one typed unit of `s3::ops`
//! (`s3::handler`: input parsed from the request, handled on a `Call`, output rendered — XML
//! through `s3::xml::documents`). Units authorize with `s3::resource` / `s3::access` (ACLs) over
//! the per-core caches of `s3::directory` and `s3::object_cache` (exact: `meta::Generations`
//! counts every write), write bodies through `s3::object_write`, and use `storage` for bytes and
//! `meta::MetaClient` for metadata: typed `meta::MetaCommand`s, each with its own reply type,
//! served by one SQLite thread that group-commits (a version an overwrite in an Enabled bucket
//! makes noncurrent waits in `versions_staged`, appended to, until a command that may read
//! noncurrent versions settles it into `versions`: `meta::version_staging`). Objects up to `--max-inline-size` never become
//! files: `storage::ObjectWriter` keeps them in memory and `meta` stores them in the same commit
//! as their row (`meta::ObjectBody::Inline`). Files are written with O_DIRECT;
//! `storage::read_path` sends a GET of a cold file to O_DIRECT and of a hot one through the page
//! cache. Both per-core memories (recent files, object records) are `recent::RecentMap`s.
//! Background work runs on core 0 in a low-share task queue (`s3::housekeeping`): the multipart
//! reaper and the lifecycle pass, whose steps are `meta::LifecycleStep` commands (each a bounded
//! batch applied and checkpointed in one transaction). A server holds its data dir's lock
//! (`storage::data_dir_lock`) for its whole life. Startup removes temp files
//! (`storage::recovery`) and starts serving; the startup scrub (`scrub`), a background thread at
//! nice 19, then removes orphan files and marks missing ones, a fan-out directory at a time, so
//! neither startup time nor memory grows with the object count.
//!
//! Remote tiers (`tier`, with `--tier NAME=URL`) run beside the cores, not on them: a tokio
//! runtime on the tier threads drives `object_store` for the mover (uploads a version's files,
//! switches the version in one `meta::CommitMove`, removes the files), the garbage collector
//! (`tier_garbage`, filled in the same commits that drop a moved version), the reconciler and
//! metadata shipping. A moved version's `file_id` names its upstream object
//! (`object_bytes::RemoteObject`, `meta::ObjectBody::Remote`); a core reads it through
//! `tier::TierClient`, a bounded futures channel, and never polls that runtime.
//!
//! Dependency rule (checked by `tests/architecture.rs`): `limits`, `secret` and `object_bytes`
//! import nothing of the crate, and `policy` (bucket policies: parsed once, evaluated per request,
//! no I/O) and `lifecycle` (lifecycle rules: matching and due dates, no I/O) nothing but
//! themselves; `config` only those and `obs`; `scrub` only `meta`, `storage`, `obs` and `limits`; `storage` and `meta` never import
//! `s3`, `http` or `net`, and `meta` never imports `storage` (their shared names are
//! `object_bytes`); `http` is pure (no glommio, no `s3`/`net`); `net` never imports `s3` or
//! `service`; `runtime` reaches S3 only through `service`; `s3` never touches sockets or SQL;
//! an `s3::ops` file never imports another; glommio types stay in `runtime`, `net`, `storage` and
//! `meta::client`; `tier` imports only `meta`, `storage`, `object_bytes` and `limits`, and tokio
//! and `object_store` appear only in its tier-thread files.
//!
//! Glossary: **chunk** = a framed piece of a request body (HTTP chunked or aws-chunked);
//! **block** = an aligned DMA buffer; **part** = a multipart-upload part; **inline object** = an
//! object whose bytes live in the metadata database.
#![warn(missing_docs)]

// The power-cut harness's deliberate regressions drop syncs; a release build must never carry
// them (`cargo build --release --all-features` stops here).
#[cfg(all(
    not(debug_assertions),
    any(
        feature = "test-skip-directory-fsync",
        feature = "test-skip-metadata-sync"
    )
))]
compile_error!("the test-skip-* features drop syncs: for the power-cut harness's test builds only");

/// Whether this build leaves out a sync on purpose (the power-cut harness's regression builds);
/// the server says so loudly at startup.
pub const BUILT_WITHOUT_SYNCS: bool = cfg!(any(
    feature = "test-skip-directory-fsync",
    feature = "test-skip-metadata-sync"
));

pub mod admin;
pub mod admin_api;
pub mod config;
pub mod core_state;
pub mod http;
pub mod key_file;
pub mod lifecycle;
pub mod limits;
pub mod meta;
pub mod net;
pub mod object_bytes;
pub mod obs;
pub mod policy;
pub mod recent;
pub mod runtime;
pub mod s3;
pub mod scrub;
pub mod secret;
pub mod service;
pub mod storage;
pub mod tier;
