#!/usr/bin/env bash
# PUTs 16 x 64 MiB into bucket $1 on M, places it on COLD, and prints the mover's throughput from
# its "moved to tier" lines (first move's start to last move's end). Needs servers.sh running.
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
L=$ROOT/target/release/loadtest; B=$ROOT/target/release/ringstore
D=${WORK:-/tmp/bench}/tier; bucket=$1
$L --endpoint http://127.0.0.1:9502 --bucket "$bucket" --op put --size 64MiB --connections 1 --ops 16 --keys 16 --key-order sequential --warmup 0 > /dev/null 2>&1
sync
start_line=$(wc -l < "$D/main.log")
$B bucket --data-dir "$D/main" tier "$bucket" COLD --after 0s > /dev/null 2>&1
for _ in $(seq 1 600); do
  n=$(tail -n +"$start_line" "$D/main.log" | grep "moved to tier" | grep -c "bucket=$bucket ")
  [ "$n" -ge 16 ] && break
  sleep 0.2
done
tail -n +"$start_line" "$D/main.log" | grep "moved to tier" | grep "bucket=$bucket " | python3 -c '
import sys, re, datetime
rows = []
for line in sys.stdin:
    ts = datetime.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp()
    d = int(re.search(r"duration_ms=(\d+)", line).group(1)); s = int(re.search(r"size_bytes=(\d+)", line).group(1))
    rows.append((ts, d, s))
first = min(ts - d / 1000 for ts, d, s in rows); last = max(ts for ts, d, s in rows)
total = sum(s for _, _, s in rows)
print(f"moved {len(rows)} objects, {total/1e6:.0f} MB in {last-first:.2f} s: {total/1e6/(last-first):.1f} MB/s")
'
