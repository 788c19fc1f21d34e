#!/bin/bash
# Issue 25 item 3: what the per-request log costs. Two fresh servers of one build, one logging every
# request (`--log-level info`, stderr to a file), one not (`warn`), taking turns in 200 ms slices;
# the log-on server is A in the first comparison and B in the second. Prints each comparison's
# rates and server CPU per operation.
# Usage (repo root, after `cargo build --release --bins`): OP=put|get|head benchmarks/log_cost.sh
set -euo pipefail
BIN=${BIN:-target/release/ringstore}
LOADTEST=${LOADTEST:-target/release/loadtest}
OP=${OP:-put}
work=$(mktemp -d /work/bench-log.XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
for order in on-first off-first; do
    rm -rf "$work/on" "$work/off"
    "$BIN" --data-dir "$work/on" --listen 127.0.0.1:9651 --cores 2 --log-level info >"$work/on.log" 2>&1 &
    on=$!
    "$BIN" --data-dir "$work/off" --listen 127.0.0.1:9652 --cores 2 --log-level warn >"$work/off.log" 2>&1 &
    off=$!
    for port in 9651 9652; do
        until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.05; done
    done
    if [ "$order" = on-first ]; then a=9651; b=9652; pa=$on; pb=$off; else a=9652; b=9651; pa=$off; pb=$on; fi
    echo "== $OP 4 KiB, log $order (A = 127.0.0.1:$a)"
    "$LOADTEST" --endpoint "http://127.0.0.1:$a" --compare "http://127.0.0.1:$b" --server-pid "$pa" \
        --compare-server-pid "$pb" --op "$OP" --size 4KiB --connections 64 --duration 4 --warmup 1 \
        --rounds 2 --slice-ms 200 2>&1 | tail -3
    kill "$on" "$off"; wait "$on" "$off" 2>/dev/null || true
done
