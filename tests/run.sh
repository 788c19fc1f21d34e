#!/usr/bin/env bash
# The whole test suite: Rust unit and integration tests (aws-sdk-s3, raw sockets, kill -9,
# memory) and the boto3 suite, against the real server binary. Installs the Python clients
# into target/test-venv first (idempotent; needs python3 with venv, as on Debian with python3-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/test-venv
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p target
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
export RINGSTORE_PYTHON="$PWD/$venv/bin/python"
# rclone comes from Debian (the compatibility suite uses the distribution's build).
if ! command -v rclone >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        (apt-get install -y -qq rclone || (apt-get update -qq && apt-get install -y -qq rclone)) >/dev/null
    else
        echo "tests/run.sh: rclone is missing; install it with: sudo apt-get install rclone" >&2
        exit 1
    fi
fi
# The AWS SDK for JavaScript v3, pinned by tests/js/package-lock.json.
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
cargo test --workspace "$@"
