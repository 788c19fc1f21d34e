#!/bin/bash
# User-space instructions per request, counted by callgrind (issue 25, item 2): a measure of the
# server's own work that this project's shared VMs cannot blur. CPU time per request there swings
# by ±15 % from round to round with the host's kernel cost; an instruction count does not, so it
# can judge a 1 % change in ringstore's code. It says nothing of the kernel's share (syscalls,
# loopback TCP) nor of cache misses — wrk_cpu.sh measures those, side by side.
# The server runs on one core under `valgrind --tool=callgrind`. After a warm-up, callgrind dumps
# (and so resets) its counters; COUNT presigned requests go over 16 keep-alive connections (ab
# -k); a second dump holds exactly those, and its total is divided by COUNT. Every request must
# be answered 2xx, and each step fails loudly (a missing dump, a dead server) rather than print a
# wrong number. OLD builds must announce HTTP/1.0 keep-alive (ab's requests), so not before
# c64b957, as in wrk_cpu.sh.
# Usage, from the repo root after `cargo build --release --bins` and
# `apt install valgrind apache2-utils python3-boto3`:
#   BIN=target/release/ringstore [OLD=<older ringstore>] [OP=head|get] [COUNT=20000] \
#       benchmarks/instructions.sh
# With FUNCTIONS=N it also prints each build's N functions with the most instructions (inclusive);
# DUMPS=<dir> keeps each build's callgrind dump there (for callgrind_annotate).
set -euo pipefail
BIN=${BIN:-target/release/ringstore}
OP=${OP:-head}
COUNT=${COUNT:-20000}
PYTHON=${PYTHON:-python3}
PORT=${PORT:-9691}
work=$(mktemp -d /work/bench-instructions.XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
dump_counters() { # name server part: asks callgrind for dump number `part` and waits for it
    # callgrind_control exits 0 even when it reached no server, so the file is the proof.
    callgrind_control -d "$2" >"$work/control.out" 2>&1
    for _ in $(seq 100); do
        ls "$work/$1".*."$3" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$1: callgrind wrote no dump $3" >&2
    cat "$work/control.out" >&2
    exit 1
}
measure() { # name binary
    local name=$1 binary=$2
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.%p" \
        "$binary" --data-dir "$work/$name.data" --listen "127.0.0.1:$PORT" --cores 1 \
        --log-level warn >"$work/$name.log" 2>&1 &
    local server=$!
    until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
        kill -0 "$server" 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
        sleep 0.2
    done
    local url
    url=$("$PYTHON" - "$PORT" "$OP" <<'PY'
import sys, boto3
from botocore.config import Config
port, op = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="ringstore", aws_secret_access_key="ringstore-secret",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
s3.create_bucket(Bucket="bench")
s3.put_object(Bucket="bench", Key="object-4k", Body=b"x" * 4096)
method = "HEAD" if op == "head" else "GET"
print(s3.generate_presigned_url(f"{op}_object", HttpMethod=method, ExpiresIn=86400,
                                Params={"Bucket": "bench", "Key": "object-4k"}))
PY
)
    local flags=(-k -c 16)
    [ "$OP" = head ] && flags+=(-i)
    # warm-up: caches filled, connections made
    ab "${flags[@]}" -n 2000 "$url" >"$work/ab.out" 2>&1 || { cat "$work/ab.out" >&2; exit 1; }
    dump_counters "$name" "$server" 1 # startup and warm-up; the counters restart from zero
    ab "${flags[@]}" -n "$COUNT" "$url" >"$work/ab.out" 2>&1 || { cat "$work/ab.out" >&2; exit 1; }
    dump_counters "$name" "$server" 2
    local complete failed
    complete=$(awk '/^Complete requests:/ {print $3}' "$work/ab.out")
    failed=$(awk '/^Non-2xx responses:|^Failed requests:/ {s += $NF} END {print s + 0}' "$work/ab.out")
    if [ "$complete" != "$COUNT" ] || [ "$failed" != 0 ]; then
        echo "$name: $complete of $COUNT requests complete, $failed failed or not 2xx" >&2
        exit 1
    fi
    kill "$server"; wait "$server" 2>/dev/null || true
    local dump total
    dump=$(ls "$work/$name".*.2)
    total=$(awk '/^summary:|^totals:/ {print $2; exit}' "$dump")
    [ -n "$total" ] || { echo "$name: no total in $dump" >&2; exit 1; }
    awk -v name="$name" -v total="$total" -v count="$COUNT" -v op="$OP" \
        'BEGIN {printf "%-6s %10.0f instructions per %s request\n", name, total / count, op}'
    if [ -n "${DUMPS:-}" ]; then
        mkdir -p "$DUMPS" && cp "$dump" "$DUMPS/$name.$OP.callgrind"
    fi
    if [ -n "${FUNCTIONS:-}" ]; then
        callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | grep -E '^ *[0-9,]+ \(' |
            head -n "$FUNCTIONS" | sed "s/^/  $name /" || true # head ends the pipe early
    fi
}
measure new "$BIN"
if [ -n "${OLD:-}" ]; then
    measure old "$OLD"
fi
