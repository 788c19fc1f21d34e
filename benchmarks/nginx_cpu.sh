#!/bin/bash
# Server CPU per request next to nginx's (issue 25, item 2): one ringstore build and nginx
# serving the same 4 KiB file (hard-linked as loadtest/object-NNNNNNNN), taking turns in 200 ms
# slices, each server's utime+stime per operation from /proc. Usage, from the repo root after
# `cargo build --release --bins` and `apt install nginx-light`:
#   BIN=target/release/ringstore OP=get|head|put [CORES=2 WORKERS=2] benchmarks/nginx_cpu.sh
# CORES is ringstore's --cores, WORKERS nginx's worker_processes. nginx takes no PUT, so OP=put
# measures ringstore's 4 KiB PUT (durable, unversioned bucket, 1,000 keys) alone, between two
# GET comparisons whose nginx figure is the anchor (the issue's target: PUT ≤ 3× nginx's GET).
set -euo pipefail
BIN=${BIN:-target/release/ringstore}
OP=${OP:-get}
LOADTEST=${LOADTEST:-target/release/loadtest}
work=$(mktemp -d /work/bench-nginx.XXXX)
chmod 755 "$work" # nginx's workers run as an unprivileged user
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
"$BIN" --data-dir "$work/ringstore" --listen 127.0.0.1:9511 --cores ${CORES:-2} --log-level warn \
    >"$work/ringstore.log" 2>&1 &
ringstore_pid=$!
until curl -sf http://127.0.0.1:9511/healthz >/dev/null; do sleep 0.05; done
# shellcheck source=benchmarks/nginx_static.sh
source "$(dirname "$0")/nginx_static.sh"
start_nginx_static "$work" 9512 "${WORKERS:-2}"
nginx_pids=$NGINX_PIDS
# ringstore is A: loadtest writes its objects first (nginx serves files, so it cannot be the
# endpoint that is prepared); the slices take turns A B B A, so neither side is favoured.
compare() { # op
    "$LOADTEST" --endpoint http://127.0.0.1:9511 --compare http://127.0.0.1:9512 \
        --compare-no-prepare --server-pid "$ringstore_pid" --compare-server-pid "$nginx_pids" \
        --op "$1" --keys 1000 --size 4KiB --connections 64 --duration 4 --warmup 1 --rounds 2 \
        --slice-ms 200 2>&1 | tail -4
}
if [ "$OP" != put ]; then
    compare "$OP"
    exit 0
fi
compare get
echo "ringstore alone:"
"$LOADTEST" --endpoint http://127.0.0.1:9511 --server-pid "$ringstore_pid" --op put --keys 1000 \
    --size 4KiB --connections 64 --duration 4 --warmup 1 2>&1 | grep -E '^put |server CPU'
compare get
