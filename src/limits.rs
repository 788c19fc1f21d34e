//! Every bound ringstore enforces, as a named constant with its source; units come last in each name.

/// Longest object key S3 accepts (AWS S3 User Guide, "Naming Amazon S3 objects": up to 1,024 bytes of UTF-8).
pub const KEY_BYTES_MAX: usize = 1024;

/// Bucket names are 3–63 characters (AWS S3 User Guide, "Bucket naming rules").
pub const BUCKET_NAME_BYTES_MIN: usize = 3;
/// Bucket names are 3–63 characters (AWS S3 User Guide, "Bucket naming rules").
pub const BUCKET_NAME_BYTES_MAX: usize = 63;

/// Largest single PUT S3 accepts (AWS S3 User Guide, "Uploading objects": 5 GiB in one PUT).
pub const PUT_OBJECT_BYTES_MAX: u64 = 5 * 1024 * 1024 * 1024;

/// Smallest part of a multipart upload other than the last (AWS S3 User Guide, "Amazon S3
/// multipart upload limits": 5 MiB).
pub const PART_BYTES_MIN: u64 = 5 * 1024 * 1024;

/// Largest part of a multipart upload (AWS S3 User Guide, "Amazon S3 multipart upload limits": 5 GiB).
pub const PART_BYTES_MAX: u64 = 5 * 1024 * 1024 * 1024;

/// Part numbers run from 1 to 10,000 (AWS S3 User Guide, "Amazon S3 multipart upload limits").
pub const PART_NUMBER_MAX: u32 = 10_000;

/// Parts listed per ListParts page and uploads per ListMultipartUploads page (S3 default and cap: 1,000).
pub const MULTIPART_LIST_ENTRIES_MAX: usize = 1000;

/// Default age after which an unfinished multipart upload is reaped, in seconds (7 days).
pub const MULTIPART_UPLOAD_AGE_MAX_SECONDS_DEFAULT: u64 = 7 * 24 * 3600;

/// Largest object by default (AWS S3 User Guide: objects up to 5 TiB).
pub const OBJECT_BYTES_MAX_DEFAULT: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// Time in-flight requests get to finish after SIGTERM/SIGINT by default, in milliseconds.
pub const SHUTDOWN_TIME_MAX_MS_DEFAULT: u64 = 30_000;

/// Bytes of a request head (request line + headers). S3 documents 8 KiB for PUT request headers
/// (AWS S3 User Guide, "Working with object metadata"); we allow twice that for long presigned URLs.
pub const HEADER_BYTES_MAX: usize = 16 * 1024;

/// Number of header fields parsed per request; more is answered with 400 (httparse needs a fixed array).
pub const HEADER_COUNT_MAX: usize = 96;

/// User-defined metadata (`x-amz-meta-*` names and values) per object (AWS S3 User Guide,
/// "User-defined object metadata": 2 KB).
pub const USER_METADATA_BYTES_MAX: usize = 2 * 1024;

/// Time a client has to send a whole request head once its first byte arrived, in milliseconds.
pub const HEADER_READ_TIME_MAX_MS: u64 = 10_000;

/// Time an idle keep-alive connection is held before it is closed, in milliseconds.
pub const KEEP_ALIVE_IDLE_TIME_MAX_MS: u64 = 5_000;

/// Time a client may take between two reads of a request body before it is cut off, in milliseconds.
pub const BODY_READ_STALL_TIME_MAX_MS: u64 = 30_000;

/// Size of one framing line in a chunked body (`<hex-size>[;ext]\r\n`); aws-chunked lines carry a
/// 64-hex-digit signature, so this leaves room for that and short extensions.
pub const CHUNK_LINE_BYTES_MAX: usize = 256;

/// Bytes of trailer section accepted after the last chunk of a chunked body.
pub const CHUNK_TRAILER_BYTES_MAX: usize = 4 * 1024;

/// XML request bodies (CreateBucketConfiguration, DeleteObjects, …) are read whole, so they are
/// capped: 1,000 DeleteObjects keys of 1,024 bytes each, escaped, fit in 2 MiB.
pub const XML_BODY_BYTES_MAX: usize = 2 * 1024 * 1024;

/// Bytes of a request body a handler may leave unread and still keep the connection (drained).
pub const BODY_DRAIN_BYTES_MAX: u64 = 64 * 1024;

/// Socket read buffer per connection.
pub const CONNECTION_READ_BUFFER_BYTES: usize = 64 * 1024;

/// Read buffer an idle keep-alive connection holds (a typical request head fits in one read; a
/// larger head or a body grows the buffer to `CONNECTION_READ_BUFFER_BYTES`).
pub const IDLE_READ_BYTES_MAX: usize = 2 * 1024;

/// Size of one DMA block written to an object file.
pub const DMA_WRITE_BLOCK_BYTES: usize = 128 * 1024;

/// Objects up to this size are stored inline in the metadata database by default: one group
/// commit then makes many small objects durable, instead of an fdatasync, a rename and a
/// directory fsync each (ringstore's choice, measured in BENCHMARKS.md; `--max-inline-size`).
pub const INLINE_OBJECT_BYTES_MAX_DEFAULT: usize = 16 * 1024;

/// Largest `--max-inline-size`: an inline upload is held in memory until it is committed, and it
/// must fit the first DMA block when it outgrows the limit and moves to a file.
pub const INLINE_OBJECT_BYTES_MAX_LIMIT: usize = 64 * 1024;

const _: () = assert!(INLINE_OBJECT_BYTES_MAX_LIMIT < DMA_WRITE_BLOCK_BYTES);
const _: () = assert!(INLINE_OBJECT_BYTES_MAX_DEFAULT <= INLINE_OBJECT_BYTES_MAX_LIMIT);

/// DMA writes in flight per upload (write-behind), bounding an upload's memory to
/// `(1 + DMA_WRITE_BEHIND_COUNT) * DMA_WRITE_BLOCK_BYTES`.
pub const DMA_WRITE_BEHIND_COUNT: usize = 2;

/// Alignment of DMA writes and of their offsets (the logical block size; 4 KiB covers every
/// common device).
pub const DMA_ALIGNMENT_BYTES: usize = 4096;

/// The least an object file is preallocated (fallocate) ahead of its DMA writes at once; more as
/// it grows (as much again as it holds), up to `PREALLOCATION_STEP_MAX_BYTES`, never past a
/// declared length. ext4 and XFS hand every extending direct write to an io_uring worker thread;
/// a write inside preallocated space is issued from the core (ringstore's choice, measured in
/// BENCHMARKS.md, 2026-12-03, "object files preallocated"). A 1 MiB object takes one fallocate.
pub const PREALLOCATION_STEP_MIN_BYTES: u64 = 1024 * 1024;

/// The most an object file is preallocated ahead of its writes at once: what a client that
/// declared a large upload and stalled holds on disk beyond what it sent.
pub const PREALLOCATION_STEP_MAX_BYTES: u64 = 4 * 1024 * 1024;

const _: () = assert!(PREALLOCATION_STEP_MIN_BYTES % DMA_WRITE_BLOCK_BYTES as u64 == 0);
const _: () = assert!(PREALLOCATION_STEP_MIN_BYTES <= PREALLOCATION_STEP_MAX_BYTES);
const _: () = assert!(DMA_WRITE_BLOCK_BYTES % DMA_ALIGNMENT_BYTES == 0);

/// Size of one DMA block read from an object file when serving a GET with O_DIRECT.
pub const DMA_READ_BLOCK_BYTES: usize = 128 * 1024;

/// DMA reads issued ahead of the socket when serving a GET with O_DIRECT.
pub const DMA_READ_AHEAD_COUNT: usize = 2;

/// Size of one buffered read when serving a GET from the page cache: fewer, larger copies and
/// sends (64 MiB objects from the cache: 1.85x the rate of 128 KiB DMA blocks, BENCHMARKS.md).
pub const CACHED_READ_BLOCK_BYTES: usize = 256 * 1024;

/// Buffered reads issued ahead of the socket when serving a GET from the page cache.
pub const CACHED_READ_AHEAD_COUNT: usize = 2;

/// Files a core remembers having read, to send a hot object's later GETs through the page cache.
pub const RECENT_READ_FILES_MAX: usize = 4096;

/// Time a replaced or deleted object's file stays on disk before it is unlinked, in milliseconds.
/// A GET that read the old metadata just before the change still finds the file to open (glommio's
/// DMA open re-reads the path right after `openat`, so a path that vanishes in between would fail).
pub const FILE_REMOVAL_GRACE_MS: u64 = 1_000;

/// Files waiting for the removing thread (`storage::remover`); past it a core removes the file on
/// its own timer. The channel's slots (48 bytes each, 384 KiB) are allocated at start; the queue
/// holds about one grace's worth of freed files, and this covers 8 s of deletes at 1,000/s.
pub const FILE_REMOVAL_QUEUE_COUNT_MAX: usize = 8_192;

/// Connections one core holds at once; the accept loop waits for a permit before `accept`.
pub const CONNECTIONS_PER_CORE_MAX: usize = 4096;

/// Requests waiting for the metadata thread; a full queue answers `SlowDown` instead of blocking a core.
pub const META_QUEUE_CAPACITY: usize = 8192;

/// Metadata operations committed in one SQLite transaction (group commit).
pub const META_BATCH_COUNT_MAX: usize = 512;

/// Overwrites of inline versions in Enabled buckets (the rows `meta::version_staging` stages)
/// between two moves of the same slot of staged noncurrent versions into `versions`: how long a
/// key's versions wait to share one page write (overwriting 1,000 keys, ~32 versions of a key
/// move together). Also the most a command that reads versions may have to move first (16,838
/// rows took 75 ms and 16,422 took 128 ms on two days here, so 150-250 ms at most). With 16
/// slots, 16,384 measured 0.86-0.89 of the unversioned overwrite rate and 32,768 0.91-0.96 at
/// the same p99 (BENCHMARKS.md, 2026-12-02 (morning)). Rows are ~200 B: the table stays under
/// ~6.5 MB.
pub const VERSIONS_STAGED_ROWS_MAX: usize = 32_768;

/// Slots of keys the staged versions are moved by, one every `VERSIONS_STAGED_ROWS_MAX /
/// VERSIONS_STAGED_SLOTS` (2,048) staged rows, and any slot at twice that at once (a few hot
/// keys in one slot): moving all 8,192 rows of an earlier shape at once held its batch for
/// 27-65 ms; a slot of 2,048 rows takes ~8 ms. Every slot is a page the group commit writes
/// (each slot's rows are appended at its own end), so fewer slots write less but move more at
/// once: 8 slots over 16,384 measured 0.93-0.96 with p99 35-38 ms, against 16's 21-26 ms.
pub const VERSIONS_STAGED_SLOTS: usize = 16;
const _: () = assert!(VERSIONS_STAGED_ROWS_MAX % VERSIONS_STAGED_SLOTS == 0);

/// Scheduling niceness the metadata thread asks for (CAP_SYS_NICE or RLIMIT_NICE needed; without
/// them it keeps 0). Every write passes through this one thread, so when it waits for a CPU behind
/// a core or a client every connection waits: 4 KiB PUT 1.20-1.23x at -10, 1.11x at -5 on 2 shared
/// cores (BENCHMARKS.md, session 5). It only runs when there is metadata work, so cores keep the rest.
pub const META_THREAD_NICE: i32 = -10;

/// A metadata batch that takes this long (from BEGIN to the end of its commit) is logged as slow,
/// with its slowest command and its commit time (ringstore's choice: the mixed-load tail's budget, issue
/// 25 item 6 — every command queued behind such a batch misses it), in milliseconds.
pub const META_BATCH_SLOW_MS: u64 = 25;

/// The slow-batch warning is logged at most once per this many milliseconds; the ones left out
/// are counted in the next (a disk that stalls every commit would otherwise flood the log).
pub const META_BATCH_SLOW_LOG_INTERVAL_MS: u64 = 1_000;

/// How long a core waits for room in a full metadata queue before answering `SlowDown`, in milliseconds.
pub const META_QUEUE_WAIT_TIME_MAX_MS: u64 = 2_000;

/// Memory glommio registers with io_uring per executor for DMA buffers. Registered memory counts
/// against `RLIMIT_MEMLOCK`; 1 MiB per core keeps 4 cores inside the common 8 MiB default.
pub const IO_MEMORY_PER_CORE_BYTES: usize = 1024 * 1024;

/// Locked memory one executor needs beyond its io memory: three io_uring rings (main, latency, poll).
pub const RING_MEMLOCK_PER_CORE_BYTES: usize = 512 * 1024;

/// io_uring submission queue depth per ring.
pub const RING_DEPTH: usize = 128;

/// AWS SigV4 clock skew allowed between client and server (AWS S3 API Reference, "RequestTimeTooSkewed": 15 minutes).
pub const REQUEST_TIME_SKEW_MAX_SECONDS: i64 = 15 * 60;

/// How long a SQLite connection waits for another's write lock (the server's metadata thread and
/// `ringstore user` share the file; either commit takes milliseconds).
pub const DATABASE_BUSY_WAIT_MS: u64 = 5_000;

/// The page cache of the metadata reader's SQLite connection (listings, lookups), in KiB; a
/// bound, filled only as pages are read. It holds a 1,000-prefix delimiter page of a
/// 10,000,000-key bucket (~2,000 pages of 4 KiB, one leaf and one interior page per prefix) with
/// room to spare: with SQLite's default of 2,000 KiB that page re-read every one of them from
/// the file (4.1 ms against 1.6 ms, BENCHMARKS.md 2026-12-04, evening). Not an S3 limit.
pub const METADATA_READER_PAGE_CACHE_KIB: u64 = 16 * 1024;

/// The most of the metadata file the reader's connection maps (`meta::kept_map`), in bytes:
/// address space, not memory, so the whole file of any bucket this machine holds. SQLite caps it
/// at its compile-time `SQLITE_MAX_MMAP_SIZE` (2 GiB by default on Linux), raised to this in
/// `.cargo/config.toml`; the part of a bigger file past the mapping is read with `pread`. Not an
/// S3 limit.
pub const METADATA_READER_MAP_BYTES_MAX: u64 = 1 << 40;

/// How far the metadata file may outgrow the reader's mapping before the next read past it maps
/// the file again, in bytes, unless an eighth of the mapping is more (`meta::kept_map`): a page
/// past the mapping costs a `pread` each time the reader's cache is reset (every commit), a new
/// mapping a page fault for each page touched again. Not an S3 limit.
pub const METADATA_READER_MAP_GROWTH_BYTES_MIN: u64 = 16 << 20;

/// How long a starting server waits for another ringstore to release the data dir (ringstore's
/// own bound: twice the default `--shutdown-timeout`, so a restart that overlaps a draining
/// server waits it out), in ms.
pub const DATA_DIR_LOCK_WAIT_MS_MAX: u64 = 60_000;

/// Rows the startup scrub reads per statement (ringstore's own bound: each statement is a short
/// read transaction, so WAL checkpoints keep completing while a big database is read; ~10 ms).
pub const SCRUB_PAGE_ROWS: u64 = 10_000;

/// The startup scrub waits before each page of rows and each directory while the cores handle at
/// least this many requests (ringstore's own bound, as the tier mover's).
pub const SCRUB_YIELD_REQUESTS_IN_FLIGHT_MIN: i64 = 2;

/// How often the waiting scrub looks again, in ms.
pub const SCRUB_YIELD_POLL_MS: u64 = 10;

/// The longest the scrub waits before one more page or directory (ringstore's own bound: a
/// server that is never quiet still finishes its scrub, at about a tenth of its idle pace; 10M
/// objects take minutes then, measured in BENCHMARKS.md).
pub const SCRUB_YIELD_WAIT_MS_MAX: u64 = 200;

/// File ids the startup scrub holds at once (ringstore's own bound: 16 MB). A data dir whose
/// rows reference more is checked in several passes over the rows, each for a run of fan-out
/// directories whose ids fit.
pub const SCRUB_PASS_IDS_MAX: usize = 1_000_000;

/// Missing files the startup scrub names in the log one by one; past these it counts them in one
/// line (each is still marked in `missing_files`). A metadata restored on a new host without
/// its files (`ringstore restore`) misses every local file: ten million error lines (1.4 GB of
/// log, measured) would bury everything else. Ringstore's own bound.
pub const SCRUB_MISSING_FILES_LOGGED_MAX: u64 = 100;

/// Missing files the startup scrub marks in one metadata command. The writer runs one command at
/// a time, so every PUT and DELETE queued behind a mark waits it out: a million ids in one
/// command held the writer 1.2–2.2 s (measured, BENCHMARKS.md 2026-12-04 (dusk)); 1,024 ids take
/// a few ms, well inside `META_BATCH_SLOW_MS`. Ringstore's own bound.
pub const SCRUB_MARK_FILES_PER_COMMAND: usize = 1_024;

/// Rows one step of the multipart reaper deletes (completed upload ids, expired uploads and their
/// parts; the last upload's parts may pass it, up to S3's 10,000). The writer runs one command at
/// a time, so every write queued behind the reaper waits for its step; before steps, one command
/// dropped every expired upload and forgot every completion older than `--multipart-max-age`
/// (a week of CompleteMultipartUploads) at once. Ringstore's own bound: a step deletes at most
/// 1,024 rows plus the parts of its last upload (up to 10,000), a few milliseconds.
pub const REAP_ROWS_PER_COMMAND: usize = 1_024;

/// How long the scrub waits before offering its `missing_files` marks again while the metadata
/// queue is full, in ms.
pub const SCRUB_QUEUE_FULL_WAIT_MS: u64 = 10;

/// Orphan and missing-file candidates the startup scrub gathers before confirming them against
/// a snapshot of the rows (ringstore's own bound: a crash leaves a handful; this caps the memory
/// of a data dir whose database was swapped for another at ~100 MiB).
pub const SCRUB_CANDIDATES_MAX: usize = 1_000_000;

/// Failed requests each core remembers for the admin API's recent errors (ringstore's own bound:
/// enough to see a burst, small enough to copy on every admin request).
pub const RECENT_ERRORS_PER_CORE_MAX: usize = 100;

/// Failed requests the admin API's `GET errors` answers at most (all cores' rings hold more).
pub const RECENT_ERRORS_ANSWERED_MAX: usize = 200;

/// Users besides the bootstrap admin (ringstore's own bound, like S3's 5,000 IAM users per
/// account: user listings are answered whole).
pub const USERS_MAX: usize = 10_000;

/// Bytes of a JSON body the admin API reads (its bodies are a few fields; ringstore's own bound).
pub const ADMIN_REQUEST_BYTES_MAX: usize = 64 * 1024;

/// How long a core trusts its cached copy of a user (access key → secret). `ringstore user remove`
/// runs in another process, so a removed key stops working within this time.
pub const USER_CACHE_TTL_MS: u64 = 1_000;

/// Users a core caches at once (cleared when full; a refill costs one metadata round trip each).
pub const USER_CACHE_ENTRIES_MAX: usize = 4_096;

/// Buckets (owner + ACL) a core caches at once; every bucket or bucket-ACL change anywhere clears
/// every core's cache, so this only bounds memory.
pub const BUCKET_CACHE_ENTRIES_MAX: usize = 10_000;

/// Object change counters (see `meta::Generations`): a write invalidates the cached records of the
/// keys in its stripe only. 32 KiB shared; a collision costs one extra lookup, never a stale read.
pub const OBJECT_GENERATION_STRIPE_COUNT: usize = 4_096;

/// Bytes of object records (with inline bodies) one core caches for GET/HEAD, counted roughly
/// (strings, bodies and a fixed overhead per entry). Ours, not S3's: at 16 KiB inline objects it
/// holds ~500 of them, at 4 KiB ~1,800; metadata-only records of file-backed objects ~20,000.
pub const OBJECT_CACHE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Largest inline body the object cache keeps: bigger objects would crowd out many small ones and
/// their meta round trip is a smaller share of their cost.
pub const OBJECT_CACHE_BODY_BYTES_MAX: usize = 16 * 1024;

/// Grants in one access control list (S3 API Reference, PutBucketAcl: "up to 100 grants").
pub const ACL_GRANT_COUNT_MAX: usize = 100;

/// Longest user display name accepted by `ringstore user add`.
pub const USER_NAME_BYTES_MAX: usize = 64;

/// Largest POST-object policy document, base64 (S3 limits the whole form before the file part;
/// its examples stay far below this).
pub const POST_POLICY_BYTES_MAX: usize = 20 * 1024;

/// Bytes of all the form fields before the file part of a POST upload (S3 User Guide, "Browser-
/// based uploads": fields precede the file; 20 KiB of them is S3's bound on the policy alone).
pub const POST_FORM_FIELDS_BYTES_MAX: usize = 64 * 1024;

/// Fields a POST-object form may carry.
pub const POST_FORM_FIELD_COUNT_MAX: usize = 100;

/// Bytes of one part's head (Content-Disposition and Content-Type lines) in a POST form.
pub const POST_FORM_PART_HEAD_BYTES_MAX: usize = 4 * 1024;

/// Read buffer of the POST form reader; the file part streams through it.
pub const POST_FORM_BUFFER_BYTES: usize = 64 * 1024;

/// Signing keys cached per core (one per access key × day × region × service).
pub const SIGNING_KEY_CACHE_ENTRIES_MAX: usize = 64;

/// Buckets per account (AWS S3 User Guide, "Bucket quotas": default 10,000 general purpose buckets).
pub const BUCKET_COUNT_MAX: usize = 10_000;

const _: () = assert!(DMA_WRITE_BLOCK_BYTES % 4096 == 0);
const _: () = assert!(DMA_READ_BLOCK_BYTES % 4096 == 0);
const _: () = assert!(CHUNK_LINE_BYTES_MAX < CONNECTION_READ_BUFFER_BYTES);
const _: () = assert!(HEADER_BYTES_MAX <= CONNECTION_READ_BUFFER_BYTES);
const _: () = assert!(META_BATCH_COUNT_MAX <= META_QUEUE_CAPACITY);

/// Log events each thread may have waiting for the logging thread; more are dropped and counted
/// (`ringstore_log_events_dropped_total`). At 100,000 requests/s on a core it covers the logging
/// thread's longest sleep (20 ms) four times over.
pub const LOG_RING_EVENT_COUNT_MAX: usize = 8_192;

/// Bytes of log events each thread may have waiting (an event can carry a path of up to
/// `HEADER_BYTES_MAX`); more are dropped and counted, so a stalled stderr holds at most this much
/// memory per thread.
pub const LOG_RING_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Bytes the logging thread gathers before one `write(2)` to stderr (a pipe's default capacity).
pub const LOG_WRITE_BATCH_BYTES: usize = 64 * 1024;

/// Worker threads of the tier runtime (remote reads, the mover, garbage collection): two, so a
/// slow upload never holds every remote read back.
pub const TIER_THREADS: usize = 2;

/// Nice value of the tier threads (and their blocking helpers): the mover's reads, checksums and
/// sends yield to request handling (BENCHMARKS.md: 4 KiB PUT with a busy mover).
pub const TIER_THREAD_NICE: i32 = 10;

/// Requests the cores may have waiting for the tier threads; more are answered SlowDown.
pub const TIER_QUEUE_CAPACITY: usize = 256;

/// Remote reads streaming from the tiers at once (each holds at most
/// `TIER_READ_CHUNKS_PER_STREAM` chunks); more wait in the queue.
pub const TIER_READS_IN_FLIGHT_MAX: usize = 64;

/// Chunks one remote read relays its bytes in (its `tier::chunk_pool`): one being filled, one
/// waiting in the channel, one being sent by the core. The stream's memory bound besides the HTTP
/// client's own buffers: 3 × 128 KiB from the tier, 3 × `TIER_CACHE_IO_BYTES` from the read
/// cache, inside issue 24's 1 MiB per stream.
pub const TIER_READ_CHUNKS_PER_STREAM: usize = 3;

/// The size of the chunks a remote read is relayed in from the tier (copied out of the HTTP
/// client's buffers).
pub const TIER_READ_CHUNK_BYTES: usize = 128 * 1024;

/// The read cache's directory in the data dir (emptied at each start).
pub const TIER_CACHE_DIRECTORY: &str = "tier-cache";

/// The read cache (`--tier-cache-mb`) keeps only objects up to this share of its size (1/4), so
/// one object never empties it.
pub const TIER_CACHE_OBJECT_SHARE: u64 = 4;

/// Read cache fills at once (each writes through a `TIER_CACHE_IO_BYTES` buffer); a miss while
/// all are busy is served without caching.
pub const TIER_CACHE_FILLS_MAX: usize = 4;

/// The read cache's unit of I/O: a hit is read, and a fill written, this many bytes at a time.
pub const TIER_CACHE_IO_BYTES: usize = 256 * 1024;

/// Bytes of one upstream part when the mover uploads in parts (S3 UploadPart: at least 5 MiB
/// except the last); objects up to this size go up in one PUT.
pub const TIER_PART_BYTES: usize = 8 * 1024 * 1024;

/// Largest part the mover uses (an object over 10,000 × `TIER_PART_BYTES` needs larger parts to
/// fit S3's part count); versions that would need more stay local: 10,000 × 64 MiB = 625 GiB.
pub const TIER_PART_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Versions the mover moves at once (two: one's reads and checksums overlap the other's waits).
/// With the parts below, moves hold about 2 × 2 × `TIER_PART_BYTES` = 32 MiB.
pub const TIER_MOVES_IN_FLIGHT: usize = 2;

/// Parts of one move held at once, being sent or being read: the mover holds this many parts of
/// an object in memory (one more chunk while a part straddles two files of a multipart object).
pub const TIER_PARTS_IN_FLIGHT_MAX: usize = 2;

/// Rows one page of the mover's scan reads (one metadata request: bounded time on that thread).
pub const TIER_SCAN_ROWS_MAX: usize = 1_000;

/// After a pass that moved nothing, the mover waits this many times the pass's duration (at
/// least `TIER_IDLE_WAIT_MS`, at most `TIER_SCAN_WAIT_MS_MAX`): scanning a large bucket then
/// takes at most about 1/20 of the metadata thread.
pub const TIER_SCAN_WAIT_FACTOR: u64 = 20;

/// The longest the mover waits between fruitless passes, in milliseconds: what "move at once"
/// (`--after 0s`) can mean at worst for a version written just after a pass.
pub const TIER_SCAN_WAIT_MS_MAX: u64 = 10_000;

/// Upstream deletions per tier per garbage-collection round.
pub const TIER_GARBAGE_BATCH_COUNT_MAX: usize = 256;

/// How long the mover waits after a pass that found nothing to move, in milliseconds (also the
/// first retry delay after a failure, doubled per failure up to `TIER_RETRY_BACKOFF_MS_MAX`).
pub const TIER_IDLE_WAIT_MS: u64 = 1_000;

/// The longest wait between the mover's retries, and the time object_store spends retrying one
/// request, in milliseconds.
pub const TIER_RETRY_BACKOFF_MS_MAX: u64 = 60_000;

/// Longest a tier may leave a request without a byte (or a core leave a remote read unread),
/// in milliseconds; a whole request has no limit, so a large object read by a slow client is
/// never cut for its duration.
pub const TIER_READ_STALL_MS_MAX: u64 = 120_000;

/// Retries object_store makes of one request (transient errors: 5xx, timeouts, resets).
pub const TIER_RETRY_COUNT_MAX: usize = 5;

/// How long an upstream object no version references waits before its deletion, in
/// milliseconds (default of `--tier-garbage-grace-seconds`): reads that opened it just before
/// its version went away finish first.
pub const TIER_GARBAGE_GRACE_MS: i64 = 60_000;

/// Metadata snapshots kept in each tier (the newest; older ones are deleted once a new one is up).
pub const METADATA_SNAPSHOTS_KEPT: usize = 2;

/// How often the metadata is shipped to the tiers when it changed, in seconds (default of
/// `--tier-metadata-interval-seconds`).
pub const TIER_METADATA_INTERVAL_SECONDS: u64 = 300;

/// How often the reconciler looks for orphaned upstream objects (besides once at start), in
/// seconds.
pub const TIER_RECONCILE_INTERVAL_SECONDS: u64 = 3_600;

/// Upstream objects the reconciler checks against the metadata per request.
pub const TIER_RECONCILE_BATCH_COUNT_MAX: usize = 1_000;

/// How often the reconciler looks whether a tier is due (answered, passed over by the mover, its
/// interval over), in seconds.
pub const TIER_RECONCILE_POLL_SECONDS: u64 = 1;

/// Requests in flight on the cores at which the mover waits before its next upload (one is a
/// lone client's request; two or more, concurrent load to yield to).
pub const TIER_YIELD_REQUESTS_IN_FLIGHT_MIN: i64 = 2;

/// How often a yielding mover looks at the load again, in milliseconds.
pub const TIER_YIELD_POLL_MS: u64 = 10;

/// The longest the mover yields before one upload, in milliseconds: under constant load it
/// still sends a part (8 MiB) a second per move.
pub const TIER_YIELD_WAIT_MS_MAX: u64 = 1_000;

/// Unfinished uploads of one object a new attempt aborts first (each crash mid-move leaves one;
/// any beyond are the reconciler's).
pub const TIER_UPLOADS_PER_OBJECT_MAX: usize = 16;
