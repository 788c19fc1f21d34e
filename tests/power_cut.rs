//! Power cuts: ringstore runs in a QEMU virtual machine whose data dir is a separate virtual disk
//! (ext4, XFS; ext4 without its journal for one regression check) attached with `cache=none`, so what the guest kernel had not yet written out
//! (page cache, unsynced metadata, in-flight I/O) dies with the VM, as at a power failure of a
//! machine whose disk keeps what it was sent. (A disk that also loses its own volatile write
//! cache is not modelled: what the guest submitted survives.)
//! A cut is `kill -9` of QEMU at a random moment under the durability workload
//! (`common::durability`, driven from outside the VM over QEMU's forwarded port); a fresh VM then
//! boots on the same disk image and the server recovers without help. The check: every
//! acknowledged write present with its bytes, metadata, checksum and retention, every
//! acknowledged delete still deleted, an unacknowledged write wholly present or wholly absent,
//! and no temp file, no object file and no inline row that the metadata does not reference
//! (counted by the guest's init after each recovery, and at the end of a run on the host, with
//! the image mounted read-only after a clean stop).
//!
//! The guest is Debian's kernel (`linux-image-amd64`) booting an initramfs of busybox, the test
//! build of ringstore and its libraries (`tests/power_cut/guest.sh`, `tests/power_cut/init`).
//! QEMU runs with TCG by default: this machine's `/dev/kvm` opens but a KVM guest never gets
//! past the kernel's real-mode setup (see SECURITY.md); `RINGSTORE_POWERCUT_ACCEL=kvm` uses KVM
//! where it works.
//!
//! CI runs `POWERCUT_ROUNDS_DEFAULT` cuts on ext4 and 2 on XFS; `RINGSTORE_POWERCUT_ROUNDS=200
//! cargo test --test power_cut` is the long run (200 cuts on ext4, 100 on XFS).
//! `RINGSTORE_POWERCUT_BIN` points the harness at another build. The regression checks build
//! ringstore with a sync left out (`--features test-skip-metadata-sync` on ext4,
//! `test-skip-directory-fsync` on ext4 without journal) and require the harness to report a
//! loss. ringstore itself is not run on ext4 without journal: that kernel's fsync may not write a
//! grown file's size there, and SQLite's WAL then loses commits (SECURITY.md).

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::durability::{self, Log};
use common::{inline_objects_in, object_files_in, temp_files_in};

/// Cuts per filesystem when `RINGSTORE_POWERCUT_ROUNDS` is not set.
const POWERCUT_ROUNDS_DEFAULT: usize = 3;
/// Concurrent writers of the unversioned bucket.
const WRITER_COUNT: u64 = 4;
/// Concurrent writers of the Object Lock bucket.
const VERSIONED_WRITER_COUNT: u64 = 2;
/// The data disk's size (a sparse file).
const DISK_BYTES: u64 = 2 << 30;
/// Guest memory, MiB.
const GUEST_MEMORY_MIB: u32 = 1024;
/// How long a boot may take until ringstore answers (TCG on a loaded 2-core host).
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the kernel may take to reach init (`RS-INIT`; ~6 s under TCG here). Past it the boot
/// is retried: one boot in ~150 hung before init, with the CPU spinning and an empty console,
/// which has nothing to do with the disk (the kernel had not touched it).
const PRE_INIT_TIMEOUT: Duration = Duration::from_secs(120);
/// Boots retried that way before the harness gives up.
const PRE_INIT_RETRIES_MAX: usize = 2;
/// How long a clean stop may take until QEMU exits.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);
/// The workload runs this long (ms, drawn at random) before the cut.
const LOAD_MS_MIN: u64 = 1_500;
const LOAD_MS_MAX: u64 = 6_000;
/// The guest's ringstore keys (its defaults).
const GUEST_ACCESS_KEY: &str = "ringstore";
const GUEST_SECRET_KEY: &str = "ringstore-secret";

/// A data disk's filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filesystem {
    Ext4,
    /// ext4 made without its journal (`mkfs.ext4 -O ^has_journal`). With a journal, a later
    /// fsync of any file (SQLite's) commits every earlier rename with it, which hides a missing
    /// directory fsync; without one, only the directory's own fsync makes a rename durable.
    Ext4WithoutJournal,
    Xfs,
}

impl Filesystem {
    /// Its name in folder names and messages.
    fn name(self) -> &'static str {
        match self {
            Filesystem::Ext4 => "ext4",
            Filesystem::Ext4WithoutJournal => "ext4-nojournal",
            Filesystem::Xfs => "xfs",
        }
    }

    /// Its type for mount(8), on the host and in the guest (`rs.fs=`).
    fn mount_type(self) -> &'static str {
        match self {
            Filesystem::Ext4 | Filesystem::Ext4WithoutJournal => "ext4",
            Filesystem::Xfs => "xfs",
        }
    }

    /// Makes a new filesystem on `disk`.
    fn format(self, disk: &Path) {
        let made = match self {
            Filesystem::Ext4 => Command::new("mkfs.ext4")
                .args(["-q", "-F"])
                .arg(disk)
                .output(),
            Filesystem::Ext4WithoutJournal => Command::new("mkfs.ext4")
                .args(["-q", "-F", "-O", "^has_journal"])
                .arg(disk)
                .output(),
            Filesystem::Xfs => Command::new("mkfs.xfs")
                .args(["-q", "-f"])
                .arg(disk)
                .output(),
        }
        .expect("run mkfs (e2fsprogs, xfsprogs)");
        assert!(made.status.success(), "mkfs for {self}: {made:?}");
    }

    /// Before the boot `boot` (its label) on `disk`: what this filesystem needs after a cut. One with a
    /// journal replays it at mount; ext4 without one needs `e2fsck` (`-y`: repair without
    /// asking, as an operator would after a boot's `fsck -p` gave up). `log`: where e2fsck's
    /// report goes.
    fn repair(self, disk: &Path, boot: &str, log: &Path) {
        if self != Filesystem::Ext4WithoutJournal {
            return;
        }
        let checked = Command::new("e2fsck")
            .args(["-f", "-y"])
            .arg(disk)
            // Its messages are matched below: never translated.
            .env("LC_ALL", "C")
            .output()
            .expect("run e2fsck (e2fsprogs)");
        std::fs::write(log, [&checked.stdout[..], &checked.stderr[..]].concat()).unwrap();
        // 0: clean; 1: errors corrected. Anything else left the filesystem unusable.
        assert!(
            matches!(checked.status.code(), Some(0 | 1)),
            "{boot}: e2fsck could not repair the data disk: {checked:?}"
        );
        let report = String::from_utf8_lossy(&checked.stdout);
        let unsynced = unsynced_layout(&report);
        assert!(
            unsynced.is_empty(),
            "{boot}: e2fsck repaired directories of the data dir's layout that were never \
             synced:\n{}",
            unsynced.join("\n")
        );
    }
}

/// Lines of an e2fsck report that show a directory of the data dir's layout (`/rs`, `/rs/tmp`,
/// `/rs/objects` and its fan-out directories) created and never synced: its first block never
/// written (`Missing '.'`, block 0 corrupted), its entry written without its inode (an entry
/// in `/`, `/rs` or `/rs/objects` naming a deleted or unused inode), or its inode without an
/// entry (unconnected). A cut legitimately leaves other repairs on such a filesystem: bitmaps
/// and counts, temp files, entries of deleted object files whose removal was not yet written.
fn unsynced_layout(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|line| {
            line.contains("Missing '.'")
                || line.contains("Missing '..'")
                || line.contains("block #0, offset 0: directory corrupted")
                || line.contains("Unconnected directory inode")
                || (line.contains("deleted/unused inode")
                    && [" in / (", " in /rs (", " in /rs/objects ("]
                        .iter()
                        .any(|directory| line.contains(directory)))
        })
        .collect()
}

impl std::fmt::Display for Filesystem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// What recovery left on a data disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DiskCounts {
    temp_files: usize,
    object_files: usize,
    inline_rows: usize,
}

/// A VM running ringstore over one data disk.
struct Guest {
    dir: PathBuf,
    kernel: PathBuf,
    filesystem: Filesystem,
    accel: String,
    qemu: Option<Child>,
    port: u16,
    boots: usize,
    /// Power cuts made so far (`power_cut`; a hung boot killed for a retry is not one).
    cuts: usize,
    /// `cuts` when `record_lost_renames` last looked (once per cut, not per boot attempt).
    lost_renames_checked: usize,
    /// Boot with the data disk behind device-mapper (`rs.dm=1`), for the fault commands.
    device_mapper: bool,
}

impl Guest {
    /// Builds the guest and formats a new data disk with `filesystem`.
    /// `binary`: the ringstore build to run; `label`: its folder under `root`.
    fn new(root: &Path, label: &str, filesystem: Filesystem, binary: &Path) -> Guest {
        let dir = root.join(label);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let built = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/power_cut/guest.sh"))
            .arg(&dir)
            .arg(binary)
            .output()
            .expect("run tests/power_cut/guest.sh");
        assert!(
            built.status.success(),
            "building the guest failed (tests/setup.sh installs qemu-system-x86, \
             linux-image-amd64 and busybox-static): {}",
            String::from_utf8_lossy(&built.stderr)
        );
        let kernel = PathBuf::from(String::from_utf8(built.stdout).unwrap().trim());
        let disk = dir.join("data.img");
        let file = std::fs::File::create(&disk).unwrap();
        file.set_len(DISK_BYTES).unwrap();
        filesystem.format(&disk);
        Guest {
            dir,
            kernel,
            filesystem,
            accel: std::env::var("RINGSTORE_POWERCUT_ACCEL").unwrap_or_else(|_| "tcg".into()),
            qemu: None,
            port: 0,
            boots: 0,
            cuts: 0,
            lost_renames_checked: 0,
            device_mapper: false,
        }
    }

    /// "boot N (filesystem, after cut K)": what a boot's failure messages start with, so that a
    /// regression check can tell a failure after a cut from one before any.
    fn boot_label(&self) -> String {
        let when = if self.cuts == 0 {
            "before any cut".to_string()
        } else {
            format!("after cut {}", self.cuts)
        };
        format!("boot {} ({}, {when})", self.boots, self.filesystem)
    }

    fn console(&self) -> PathBuf {
        self.dir.join(format!("boot-{}.log", self.boots))
    }

    fn control_socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    /// The end of this boot's console, for failure messages.
    fn console_tail(&self) -> String {
        let text = std::fs::read_to_string(self.console()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Boots a fresh VM on the disk and waits until ringstore answers. A boot that never reached
    /// init within `PRE_INIT_TIMEOUT` is retried (`PRE_INIT_RETRIES_MAX` times).
    async fn boot(&mut self) {
        let mut retries = 0;
        while !self.boot_once().await {
            retries += 1;
            assert!(
                retries <= PRE_INIT_RETRIES_MAX,
                "{}: {retries} boots in a row never reached init",
                self.boot_label()
            );
            eprintln!(
                "{}: the kernel did not reach init within {PRE_INIT_TIMEOUT:?}; booting again",
                self.boot_label()
            );
        }
    }

    /// One boot: `false` if it hung before init (QEMU killed), `true` once ringstore answers.
    async fn boot_once(&mut self) -> bool {
        self.boots += 1;
        self.port = free_port();
        let _ = std::fs::remove_file(self.control_socket());
        self.filesystem.repair(
            &self.dir.join("data.img"),
            &self.boot_label(),
            &self.dir.join(format!("e2fsck-{}.log", self.boots)),
        );
        if self.filesystem == Filesystem::Ext4WithoutJournal {
            self.record_lost_renames();
        }
        let accel = if self.accel == "kvm" {
            "kvm".to_string()
        } else {
            "tcg,thread=multi".to_string()
        };
        let qemu = Command::new("qemu-system-x86_64")
            .args(["-accel", &accel, "-smp", "2", "-m"])
            .arg(GUEST_MEMORY_MIB.to_string())
            .args(["-nodefaults", "-display", "none", "-no-reboot"])
            .arg("-kernel")
            .arg(&self.kernel)
            .arg("-initrd")
            .arg(self.dir.join("initramfs.cpio.gz"))
            .arg("-append")
            .arg(format!(
                "console=ttyS0 panic=-1 quiet rs.fs={} rs.dm={}",
                self.filesystem.mount_type(),
                u8::from(self.device_mapper)
            ))
            // cache=none: the host's page cache is bypassed, so nothing the guest did not write
            // out survives the kill; what the guest flushed is on the host's disk.
            .arg("-drive")
            .arg(format!(
                "file={},format=raw,if=virtio,cache=none",
                self.dir.join("data.img").display()
            ))
            .arg("-netdev")
            .arg(format!(
                "user,id=net0,hostfwd=tcp:127.0.0.1:{}-:9000",
                self.port
            ))
            .args(["-device", "virtio-net-pci,netdev=net0"])
            .arg("-serial")
            .arg(format!("file:{}", self.console().display()))
            .arg("-chardev")
            .arg(format!(
                "socket,id=control,path={},server=on,wait=off",
                self.control_socket().display()
            ))
            .args(["-serial", "chardev:control"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(self.dir.join(format!("qemu-{}.err", self.boots))).unwrap(),
            )
            .spawn()
            .expect("start qemu-system-x86_64 (tests/setup.sh installs qemu-system-x86)");
        self.qemu = Some(qemu);
        let started = Instant::now();
        let s3 = self.client();
        loop {
            let console = std::fs::read_to_string(self.console()).unwrap_or_default();
            assert!(
                !console.contains("RS-MOUNT-FAILED"),
                "{}: the data disk did not mount:\n{}",
                self.boot_label(),
                self.console_tail()
            );
            if let Some(status) = self.qemu.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "{}: QEMU exited ({status}) before ringstore answered:\n{}",
                    self.boot_label(),
                    self.console_tail()
                );
            }
            if console.contains("RS-STARTED") && s3.list_buckets().send().await.is_ok() {
                return true;
            }
            if !console.contains("RS-INIT") && started.elapsed() > PRE_INIT_TIMEOUT {
                self.cut();
                return false;
            }
            assert!(
                started.elapsed() < BOOT_TIMEOUT,
                "{}: ringstore did not answer within {BOOT_TIMEOUT:?}:\n{}",
                self.boot_label(),
                self.console_tail()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until the guest's ringstore has finished its startup scrub (orphans removed), which
    /// runs while it serves: the disk's counts are only final after it.
    async fn wait_for_startup_scrub(&self) {
        use std::io::{Read, Write};
        let started = Instant::now();
        loop {
            let mut text = String::new();
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = stream
                    .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let _ = stream.read_to_string(&mut text);
            }
            if text
                .lines()
                .any(|line| line == "ringstore_startup_scrub_done 1")
            {
                return;
            }
            assert!(
                started.elapsed() < BOOT_TIMEOUT,
                "{}: the startup scrub did not finish within {BOOT_TIMEOUT:?}:\n{}",
                self.boot_label(),
                self.console_tail()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// A client of the guest's ringstore, without retries (a request cut by the power cut fails
    /// at once).
    fn client(&self) -> aws_sdk_s3::Client {
        let s3 = common::client_for(
            &format!("http://127.0.0.1:{}", self.port),
            GUEST_ACCESS_KEY,
            GUEST_SECRET_KEY,
        );
        aws_sdk_s3::Client::from_conf(
            s3.config()
                .to_builder()
                .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
                .build(),
        )
    }

    /// The power cut: QEMU killed under load, the guest's unwritten state gone with it.
    fn power_cut(&mut self) {
        self.cut();
        self.cuts += 1;
    }

    /// QEMU killed (a power cut, a hung boot, the end of a test).
    fn cut(&mut self) {
        if let Some(mut qemu) = self.qemu.take() {
            let _ = qemu.kill();
            let _ = qemu.wait();
        }
    }

    /// Sends `command` to the guest's init and polls the console's whole lines until `answer`
    /// finds the reply in them (it may panic on a failed one).
    async fn ask<T>(&self, command: &str, answer: impl Fn(&str) -> Option<T>) -> T {
        let mut control = UnixStream::connect(self.control_socket()).unwrap();
        control
            .write_all(format!("{command}\n").as_bytes())
            .unwrap();
        let started = Instant::now();
        loop {
            let console = std::fs::read_to_string(self.console()).unwrap_or_default();
            // Only whole lines: the console file may hold half of one still being written.
            let whole = console.rfind('\n').map_or("", |end| &console[..end]);
            if let Some(reply) = answer(whole) {
                return reply;
            }
            assert!(
                started.elapsed() < STOP_TIMEOUT,
                "{command}: no answer within {STOP_TIMEOUT:?}:\n{}",
                self.console_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `command` to the guest's init and waits for its answer: `fault-writes` (writes to
    /// the data disk fail with EIO), `fault-all` (all its I/O does) or `heal` (the disk again).
    async fn device_command(&self, command: &str) {
        let done = format!("RS-DM-OK {command}");
        let failed = format!("RS-DM-FAILED {command}");
        let seen_before = std::fs::read_to_string(self.console())
            .unwrap_or_default()
            .matches(&done)
            .count();
        self.ask(command, |console| {
            assert!(
                !console.contains(&failed),
                "{command}: dmsetup failed:\n{}",
                self.console_tail()
            );
            (console.matches(&done).count() > seen_before).then_some(())
        })
        .await
    }

    /// What is on the running guest's disk (nothing being written): its init counts temp
    /// files, object files and inline rows (`inspect`); `request` tells the answers apart.
    async fn counts(&self, request: usize) -> DiskCounts {
        let marker = format!("RS-COUNTS {request} ");
        self.ask(&format!("inspect {request}"), |console| {
            let line = console.lines().find(|line| line.starts_with(&marker))?;
            let field = |name: &str| -> usize {
                line.split_whitespace()
                    .find_map(|pair| pair.strip_prefix(name))
                    .and_then(|value| value.parse().ok())
                    .unwrap_or_else(|| panic!("{name} in {line:?}"))
            };
            Some(DiskCounts {
                temp_files: field("tmp="),
                object_files: field("files="),
                inline_rows: field("inline="),
            })
        })
        .await
    }

    /// A clean stop: ringstore ends on SIGTERM, the disk is unmounted, the VM powers off.
    async fn stop(&mut self) {
        let mut control = UnixStream::connect(self.control_socket()).unwrap();
        control.write_all(b"stop\n").unwrap();
        let started = Instant::now();
        while self.qemu.as_mut().unwrap().try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < STOP_TIMEOUT,
                "boot {}: the VM did not power off within {STOP_TIMEOUT:?}:\n{}",
                self.boots,
                self.console_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.qemu = None;
        let console = std::fs::read_to_string(self.console()).unwrap_or_default();
        assert!(
            console.contains("RS-EXIT 0") && console.contains("RS-UNMOUNTED 0"),
            "boot {}: ringstore or the unmount did not end cleanly:\n{}",
            self.boots,
            self.console_tail()
        );
    }

    /// Where `record_lost_renames` writes what it found.
    fn lost_renames_log(&self) -> PathBuf {
        self.dir.join("lost-renames.log")
    }

    /// Before a boot on ext4 without journal, after e2fsck: the object files the metadata
    /// references that are not in `objects/` but whose bytes survived elsewhere — still in
    /// `tmp/` under their temp name, or in `lost+found/` where e2fsck put a file no directory
    /// named (matched by MD5 against the row's ETag). That is a rename into place that never
    /// reached the disk, the signature of a missing directory fsync; a file lost any other way
    /// (the kernel's own nojournal fsync bug, SECURITY.md) has no surviving bytes. Appends them,
    /// with the boot number, to `lost_renames_log`.
    fn record_lost_renames(&mut self) {
        if self.cuts == self.lost_renames_checked {
            return;
        }
        self.lost_renames_checked = self.cuts;
        let lost = self.with_disk_mounted(|data_dir| {
            if !data_dir.join("meta.sqlite").exists() {
                return Vec::new();
            }
            let lost_and_found: std::collections::HashSet<String> =
                std::fs::read_dir(data_dir.parent().unwrap().join("lost+found"))
                    .map(|entries| {
                        entries
                            .filter_map(|entry| std::fs::read(entry.ok()?.path()).ok())
                            .map(|bytes| common::md5_hex(&bytes))
                            .collect()
                    })
                    .unwrap_or_default();
            referenced_files(data_dir)
                .into_iter()
                .filter(|(id, _)| {
                    let fan_out = id.get(..2).unwrap_or_default();
                    !data_dir.join("objects").join(fan_out).join(id).exists()
                })
                .filter_map(|(id, etag)| {
                    if data_dir.join("tmp").join(format!("{id}.tmp")).exists() {
                        Some(format!("{id} (in tmp/)"))
                    } else if lost_and_found.contains(&etag) {
                        Some(format!("{id} (in lost+found/)"))
                    } else {
                        None
                    }
                })
                .collect::<Vec<String>>()
        });
        if !lost.is_empty() {
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.lost_renames_log())
                .unwrap();
            writeln!(log, "boot {}: {}", self.boots, lost.join(", ")).unwrap();
        }
    }

    /// Runs `inspect` on the data dir of the VM's disk mounted read-only on the host (no VM
    /// running).
    fn with_disk_mounted<T>(&self, inspect: impl FnOnce(&Path) -> T + std::panic::UnwindSafe) -> T {
        let mount_point = self.dir.join("mnt");
        std::fs::create_dir_all(&mount_point).unwrap();
        let mounted = Command::new("mount")
            .args(["-o", "loop,ro", "-t", self.filesystem.mount_type()])
            .arg(self.dir.join("data.img"))
            .arg(&mount_point)
            .output()
            .unwrap();
        assert!(
            mounted.status.success(),
            "mounting the data disk on the host (needs root and a loop device): {mounted:?}"
        );
        let data_dir = mount_point.join("rs");
        let found = std::panic::catch_unwind(|| inspect(&data_dir));
        let unmounted = Command::new("umount").arg(&mount_point).output().unwrap();
        assert!(unmounted.status.success(), "umount: {unmounted:?}");
        found.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// Mounts the stopped VM's disk read-only on the host: (temp files, object files, inline
    /// rows) of the data dir.
    fn inspect(&self) -> (Vec<PathBuf>, usize, usize) {
        self.with_disk_mounted(|data_dir| {
            (
                temp_files_in(data_dir),
                object_files_in(data_dir),
                inline_objects_in(data_dir, true),
            )
        })
    }
}

impl Guest {
    /// Lines of every boot's console so far that contain `text`.
    fn console_lines(&self, text: &str) -> usize {
        (1..=self.boots)
            .map(|boot| {
                std::fs::read_to_string(self.dir.join(format!("boot-{boot}.log")))
                    .unwrap_or_default()
                    .lines()
                    .filter(|line| line.contains(text))
                    .count()
            })
            .sum()
    }

    /// ringstore's ERROR lines in every boot's console so far (a failed read of stored bytes
    /// among them), but glommio's note on polled I/O.
    fn logged_errors(&self) -> Vec<String> {
        (1..=self.boots)
            .flat_map(|boot| {
                std::fs::read_to_string(self.dir.join(format!("boot-{boot}.log")))
                    .unwrap_or_default()
                    .lines()
                    // glommio logs its probe of a device for polled I/O at ERROR (harmless: it
                    // falls back to interrupts), on the host as in the guest.
                    .filter(|line| {
                        line.contains("ERROR") && !line.contains("probing iopoll support")
                    })
                    .map(|line| format!("boot {boot}: {line}"))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        self.cut();
    }
}

/// The object files the metadata of `data_dir` (on a read-only mount) references — objects,
/// versions and parts of uploads in progress — as (file id, ETag, an MD5 for a single-part
/// object or a part).
fn referenced_files(data_dir: &Path) -> Vec<(String, String)> {
    let copy = tempfile::tempdir().unwrap();
    common::copy_metadata(data_dir, copy.path());
    // A diagnostic: a database it cannot read leaves the loss to the harness's own check.
    let read = || -> rusqlite::Result<Vec<(String, String)>> {
        let connection = rusqlite::Connection::open(copy.path().join("meta.sqlite"))?;
        let mut statement = connection.prepare(
            "SELECT file_id, etag FROM objects WHERE file_id != '' \
             UNION SELECT file_id, etag FROM versions WHERE file_id != '' \
             UNION SELECT file_id, etag FROM parts WHERE file_id != ''",
        )?;
        let files = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect();
        files
    };
    read().unwrap_or_else(|error| {
        eprintln!("reading the referenced files from the disk's metadata: {error}");
        Vec::new()
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The ringstore build under test: this test build, or `RINGSTORE_POWERCUT_BIN`.
fn binary() -> PathBuf {
    std::env::var_os("RINGSTORE_POWERCUT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ringstore")))
}

fn harness_root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("power-cut")
}

async fn power_cuts(filesystem: Filesystem, rounds: usize) {
    power_cuts_of(&binary(), filesystem.name(), filesystem, rounds).await;
}

/// Rounds of load → cut → boot → check → count what is on the disk, for `binary` on one
/// filesystem, then a clean stop and a look at the disk from the host; panics on the first loss.
async fn power_cuts_of(binary: &Path, label: &str, filesystem: Filesystem, rounds: usize) {
    let mut guest = Guest::new(&harness_root(), label, filesystem, binary);
    guest.boot().await;
    durability::create_buckets(&guest.client()).await;
    let log = Log::default();
    let mut rng = fastrand::Rng::with_seed(0xc0ffee ^ filesystem.name().len() as u64);
    let mut last = None;
    for round in 0..rounds {
        let acknowledged_before = log.acknowledged_count();
        let s3 = guest.client();
        let seed = (round as u64) * 100 + filesystem.name().len() as u64 * 10_000;
        let workers =
            durability::spawn_writers(&s3, &log, WRITER_COUNT, VERSIONED_WRITER_COUNT, seed);
        tokio::time::sleep(Duration::from_millis(rng.u64(LOAD_MS_MIN..LOAD_MS_MAX))).await;
        guest.power_cut();
        for worker in workers {
            worker.await.unwrap();
        }
        // Recovery: a fresh VM on what the cut left.
        guest.boot().await;
        let checked = durability::check(&guest.client(), &log, round).await;
        let errors = guest.logged_errors();
        assert!(
            errors.is_empty(),
            "{filesystem} round {round}: ringstore logged errors:\n{}",
            errors.join("\n")
        );
        let expected = DiskCounts {
            temp_files: 0,
            object_files: checked.files,
            inline_rows: checked.inline,
        };
        guest.wait_for_startup_scrub().await;
        let settle = Instant::now() + Duration::from_secs(durability::DISK_SETTLE_SECONDS);
        let mut asked = 0;
        let counts = loop {
            let counts = guest.counts(round * 100 + asked).await;
            asked += 1;
            if counts == expected || Instant::now() > settle {
                break counts;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert_eq!(
            counts, expected,
            "{filesystem} round {round}: what is on the disk (left) vs what the metadata \
             references (right)"
        );
        eprintln!(
            "power cut {filesystem} round {round}: {} operations acknowledged before the cut; \
             {} live objects and versions checked, {} files, {} inline; short O_DIRECT reads so \
             far: {}",
            log.acknowledged_count() - acknowledged_before,
            checked.live,
            counts.object_files,
            counts.inline_rows,
            guest.console_lines("an O_DIRECT read came up short")
        );
        last = Some(counts);
    }
    // A clean stop, and the disk as the host's kernel sees it: the same as the guest counted.
    guest.stop().await;
    let (temp_files, object_files, inline_rows) = guest.inspect();
    assert_eq!(
        Some(DiskCounts {
            temp_files: temp_files.len(),
            object_files,
            inline_rows,
        }),
        last,
        "{filesystem}: the disk mounted on the host vs the guest's last count"
    );
    assert!(
        log.acknowledged_count() > 0,
        "{filesystem}: no write was acknowledged before any cut; the rounds tested nothing"
    );
}

/// One VM at a time: two TCG guests at once would starve each other on a 2-core host.
static ONE_GUEST: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn rounds() -> usize {
    std::env::var("RINGSTORE_POWERCUT_ROUNDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(POWERCUT_ROUNDS_DEFAULT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn power_cuts_on_ext4_lose_nothing_acknowledged() {
    // Goal: after every cut of the VM's power on ext4, the restarted server holds every
    // acknowledged write and delete, nothing partial, and no leftover file.
    let _one = ONE_GUEST.lock().await;
    power_cuts(Filesystem::Ext4, rounds()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn power_cuts_on_xfs_lose_nothing_acknowledged() {
    // Goal: the same on XFS (the issue asks for half as many cuts as on ext4).
    let _one = ONE_GUEST.lock().await;
    power_cuts(Filesystem::Xfs, rounds().div_ceil(2).max(2)).await;
}

/// Cuts a regression check may take to notice a broken build (each noticed in the first round
/// in every run so far).
const REGRESSION_ROUNDS_MAX: usize = 3;

/// One nested `cargo build` at a time: both regression builds share a target dir.
static ONE_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Builds ringstore with the test-only `feature` (a sync left out) and returns a copy of the
/// binary that the other regression build cannot overwrite.
fn regression_build(feature: &str) -> PathBuf {
    let _one = ONE_BUILD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("power-cut-regression-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args([
            "build",
            "--locked",
            "--bin",
            "ringstore",
            "--features",
            feature,
        ])
        .arg("--target-dir")
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo build");
    assert!(built.status.success(), "building {feature}: {built:?}");
    let binary = target.join(format!("ringstore-{feature}"));
    std::fs::copy(target.join("debug/ringstore"), &binary).unwrap();
    binary
}

/// Runs the power-cut rounds on `binary`, a build that leaves a sync out, and requires the
/// harness to report a loss after a cut.
async fn expect_a_loss(binary: PathBuf, label: &'static str, filesystem: Filesystem) {
    let _one = ONE_GUEST.lock().await;
    let run = tokio::spawn(async move {
        power_cuts_of(&binary, label, filesystem, REGRESSION_ROUNDS_MAX).await
    })
    .await;
    let panic = run.expect_err("the harness passed a build that leaves a sync out");
    let message = panic
        .into_panic()
        .downcast::<String>()
        .map(|text| *text)
        .unwrap_or_default();
    eprintln!("the harness on {label}: {message}");
    // A loss the check names (a lost object, version or bucket; a disk that disagrees with the
    // metadata), or a server that did not come back after a cut (SQLite without syncs may
    // corrupt its database) — not a harness that broke before the first cut.
    let after_a_cut = message.contains("round ")
        || (message.contains(", after cut ") && !message.contains("never reached init"));
    assert!(after_a_cut, "{label} failed for another reason: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_harness_notices_metadata_committed_without_sync() {
    // Goal: the harness can fail. A build whose metadata commits skip their sync
    // (`--features test-skip-metadata-sync`, SQLite synchronous=OFF) loses acknowledged writes at
    // a power cut on ext4, and the harness must say so within a few cuts.
    let binary = regression_build("test-skip-metadata-sync");
    expect_a_loss(binary, "regression-metadata-sync", Filesystem::Ext4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_harness_notices_a_missing_directory_fsync() {
    // Goal: the harness can fail on the sync the issue names. A build that renames an object
    // file into place without fsyncing its directory (`--features test-skip-directory-fsync`)
    // loses acknowledged writes at a power cut on ext4 without its journal (with one, SQLite's
    // next fsync commits the rename too), and the harness must say so within a few cuts.
    let binary = regression_build("test-skip-directory-fsync");
    expect_a_loss(
        binary,
        "regression-directory-fsync",
        Filesystem::Ext4WithoutJournal,
    )
    .await;
    // And the loss is the one a missing directory fsync makes, not the kernel's own (ext4
    // without journal may lose a file's growth at fsync; SECURITY.md): a referenced object file
    // whose bytes survived a rename that never reached the disk, in tmp/ or lost+found/.
    let lost = std::fs::read_to_string(
        harness_root()
            .join("regression-directory-fsync")
            .join("lost-renames.log"),
    )
    .unwrap_or_default();
    eprintln!("renames lost at the cuts:\n{lost}");
    assert!(
        !lost.is_empty(),
        "no referenced object file's bytes were found in tmp/ or lost+found/ after a cut"
    );
}

#[test]
fn the_e2fsck_check_tells_an_unsynced_layout_from_what_a_cut_leaves() {
    // Goal: the lines e2fsck printed after the first cut of a build whose layout was never
    // synced are caught, and the repairs it printed after cuts of the fixed build are not.
    let unsynced = "Directory inode 15, block #0, offset 0: directory corrupted
Missing '.' in directory inode 15.
Missing '..' in directory inode 16.
Entry '02' in /rs/objects (14) has deleted/unused inode 17.  Clear? yes
Unconnected directory inode 40 (/rs/objects/???)";
    assert_eq!(unsynced_layout(unsynced).len(), 5);
    let after_a_cut = "Entry 'rs' in / (2) references inode 12 found in group 0's unused inodes area.
Entry '463b9a10876e6e7bcf0451d6e1bfb52e.tmp' in /rs/tmp (13) references inode 292 found in group 0's unused inodes area.
Entry '4dc7225436d45b58af05310de34f8db5' in /rs/objects/4d (110) has deleted/unused inode 301.  Clear? yes
Inode 290 has an invalid extent node (blk 33181, lblk 0)
Inode 292 ref count is 1, should be 2.  Fix? yes
Block bitmap differences:  +(8754--8797) +(33312--33403)
Free inodes count wrong for group #0 (7911, counted=7906).";
    assert_eq!(unsynced_layout(after_a_cut), Vec::<&str>::new());
}

/// PUTs `body` as `bucket/key`; the SDK's answer.
async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: &[u8],
) -> Result<
    aws_sdk_s3::operation::put_object::PutObjectOutput,
    aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::put_object::PutObjectError>,
> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(body.to_vec()))
        .send()
        .await
}

/// The object's bytes, or its error code and status.
async fn get(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, (Option<String>, Option<u16>)> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(object) => Ok(object.body.collect().await.unwrap().to_vec()),
        Err(error) => Err((common::error_code(&error), common::error_status(&error))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disk_errors_fail_requests_cleanly_and_lose_nothing_acknowledged() {
    // Goal: when the data disk fails writes with EIO (device-mapper's flakey target in the VM),
    // a PUT — inline or file — answers 500 InternalError and is not acknowledged, while reads and
    // listings go on; when it fails all I/O, a GET of bytes not in memory answers 500
    // InternalError before any byte, never wrong bytes; the server keeps answering throughout;
    // and after a power cut and a boot on the healed disk, every acknowledged write is there and
    // no failed one is.
    let _one = ONE_GUEST.lock().await;
    let mut guest = Guest::new(&harness_root(), "faults", Filesystem::Ext4, &binary());
    guest.device_mapper = true;
    guest.boot().await;
    let s3 = guest.client();
    s3.create_bucket().bucket("faults").send().await.unwrap();
    // Inline (in SQLite), a file, and a file nobody reads before the disk fails.
    let inline = common::pattern(1_000, 1);
    let file = common::pattern(300_000, 2);
    let unread = common::pattern(200_000, 3);
    for (key, body) in [("inline", &inline), ("file", &file), ("unread", &unread)] {
        put(&s3, "faults", key, body).await.unwrap();
    }

    guest.device_command("fault-writes").await;
    for (key, size) in [("failed-file", 300_000), ("failed-inline", 2_000)] {
        let error = put(&s3, "faults", key, &common::pattern(size, 4))
            .await
            .expect_err("a PUT onto a disk that fails writes is not acknowledged");
        assert_eq!(
            (common::error_code(&error), common::error_status(&error)),
            (Some("InternalError".to_string()), Some(500)),
            "PUT {key} while writes fail: {error:?}"
        );
    }
    assert_eq!(get(&s3, "faults", "inline").await, Ok(inline.clone()));
    assert_eq!(get(&s3, "faults", "file").await, Ok(file.clone()));
    assert_eq!(
        common::list_keys(&s3, "faults").await,
        ["file", "inline", "unread"]
    );

    guest.device_command("fault-all").await;
    assert_eq!(
        get(&s3, "faults", "unread").await,
        Err((Some("InternalError".to_string()), Some(500))),
        "a GET whose bytes the disk cannot give"
    );
    // Still answering.
    s3.list_buckets().send().await.unwrap();
    assert_eq!(get(&s3, "faults", "inline").await, Ok(inline.clone()));

    guest.device_command("heal").await;
    guest.power_cut();
    guest.device_mapper = false;
    guest.boot().await;
    let s3 = guest.client();
    assert_eq!(get(&s3, "faults", "inline").await, Ok(inline));
    assert_eq!(get(&s3, "faults", "file").await, Ok(file));
    assert_eq!(get(&s3, "faults", "unread").await, Ok(unread));
    for key in ["failed-file", "failed-inline"] {
        assert_eq!(
            get(&s3, "faults", key).await,
            Err((Some("NoSuchKey".to_string()), Some(404))),
            "{key} was never acknowledged"
        );
    }
    // And it takes writes again.
    put(&s3, "faults", "after", b"healed").await.unwrap();
    guest.stop().await;
    let (temp_files, _, _) = guest.inspect();
    assert!(
        temp_files.is_empty(),
        "temp files after recovery: {temp_files:?}"
    );
    // Each failure took its own logged path: the object file's write or fdatasync, the
    // metadata commit (the inline PUT), and the read of stored bytes.
    let errors = guest.logged_errors().join("\n");
    for path in [
        "storage failure",
        "metadata commit failed",
        "object bytes unreadable",
    ] {
        assert!(
            errors.contains(path),
            "no `{path}` among ringstore's errors:\n{errors}"
        );
    }
    assert!(
        !errors.contains("reading a response body failed"),
        "a read error cut a body short instead of answering 500:\n{errors}"
    );
}
