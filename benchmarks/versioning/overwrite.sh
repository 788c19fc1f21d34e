#!/bin/bash
# Issue 20's versioned-overwrite figure: 4 KiB PUTs over 1,000 keys into an Enabled bucket (every
# PUT a new version) vs an unversioned bucket, two fresh servers of the same build taking turns in
# 200 ms slices. Usage: BIN=target/release/ringstore ORDER=vu|uv benchmarks/versioning/overwrite.sh
# (run from the repo root after `cargo build --release --bins`; needs target/test-venv's boto3).
# OP=get or KEYS=100000000 (every PUT a new key) measure the issue's other two figures.
set -euo pipefail
BIN=${BIN:-target/release/ringstore}
ORDER=${ORDER:-vu}
OP=${OP:-put}
KEYS=${KEYS:-1000}
LOADTEST=${LOADTEST:-target/release/loadtest}
PYTHON=${PYTHON:-target/test-venv/bin/python}
work=$(mktemp -d /work/bench-versioning.XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
start() { # port dir
    "$BIN" --data-dir "$2" --listen "127.0.0.1:$1" --cores 2 --log-level warn >"$2.log" 2>&1 &
    until curl -sf "http://127.0.0.1:$1/healthz" >/dev/null; do sleep 0.05; done
}
start 9501 "$work/versioned"
start 9502 "$work/unversioned"
"$PYTHON" - <<'PY'
import boto3
for port, versioned in ((9501, True), (9502, False)):
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                      aws_access_key_id="ringstore", aws_secret_access_key="ringstore-secret")
    s3.create_bucket(Bucket="loadtest")
    if versioned:
        s3.put_bucket_versioning(Bucket="loadtest", VersioningConfiguration={"Status": "Enabled"})
PY
if [ "$ORDER" = vu ]; then a=9501; b=9502; else a=9502; b=9501; fi
"$LOADTEST" --endpoint "http://127.0.0.1:$a" --compare "http://127.0.0.1:$b" --op "$OP" --keys "$KEYS" --size 4KiB \
    --connections 64 --duration 4 --warmup 1 --rounds 2 --slice-ms 200 2>&1 | tail -6
echo "A = 127.0.0.1:$a ($([ $a = 9501 ] && echo versioned || echo unversioned))"
