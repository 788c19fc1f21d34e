#!/bin/bash
# Two builds of ringstore side by side: 4 KiB PUT (or OP=get|head) over 1,000 keys, into an
# Enabled bucket (VERSIONED=1, the default: every PUT stages a noncurrent version) or an
# unversioned one, two fresh servers taking turns in 200 ms slices, with each server's CPU per
# operation. Usage, from the repo root after `cargo build --release --bins` and building the
# other side into a target dir of its own (never this repo's `target/`, see BENCHMARKS.md):
#   OLD=/tmp/old/ringstore NEW=target/release/ringstore ORDER=old-first|new-first benchmarks/builds.sh
# CORES sets both servers' --cores (default 2), KEYS the keys written and read (default 1000);
# SIZE the object size (default 4KiB), CONNECTIONS (64), DURATION of each run in s (4), ROUNDS (2),
# SLICE_MS (200; 0 runs each endpoint alone in turn, A B B A, for operations slower than a slice).
set -euo pipefail
OLD=${OLD:?the build to compare against}
NEW=${NEW:-target/release/ringstore}
VERSIONED=${VERSIONED:-1}
ORDER=${ORDER:-old-first}
OP=${OP:-put}
LOADTEST=${LOADTEST:-target/release/loadtest}
PYTHON=${PYTHON:-target/test-venv/bin/python}
work=$(mktemp -d /work/bench-builds.XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
start() { # binary port dir
    "$1" --data-dir "$3" --listen "127.0.0.1:$2" --cores ${CORES:-2} --log-level warn >"$3.log" 2>&1 &
    echo $! >"$3.pid"
    until curl -sf "http://127.0.0.1:$2/healthz" >/dev/null; do sleep 0.05; done
}
start "$OLD" 9501 "$work/old"
start "$NEW" 9502 "$work/new"
VERSIONED=$VERSIONED "$PYTHON" - <<'PY'
import os
import boto3
for port in (9501, 9502):
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                      aws_access_key_id="ringstore", aws_secret_access_key="ringstore-secret")
    s3.create_bucket(Bucket="loadtest")
    if os.environ["VERSIONED"] == "1":
        s3.put_bucket_versioning(Bucket="loadtest", VersioningConfiguration={"Status": "Enabled"})
PY
if [ "$ORDER" = old-first ]; then a=old; b=new; else a=new; b=old; fi
port() { [ "$1" = old ] && echo 9501 || echo 9502; }
"$LOADTEST" --endpoint "http://127.0.0.1:$(port $a)" --compare "http://127.0.0.1:$(port $b)" \
    --server-pid "$(cat "$work/$a.pid")" --compare-server-pid "$(cat "$work/$b.pid")" \
    --op "$OP" --keys "${KEYS:-1000}" --size "${SIZE:-4KiB}" --connections "${CONNECTIONS:-64}" \
    --duration "${DURATION:-4}" --warmup 1 --rounds "${ROUNDS:-2}" \
    --slice-ms "${SLICE_MS:-200}" 2>&1 | tail -4
echo "A = $a build, B = $b build"
