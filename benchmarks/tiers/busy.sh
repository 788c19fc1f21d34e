#!/usr/bin/env bash
# 4 KiB PUT into M idle, then 1.2 s after placing 40 x 64 MiB (the mover busy throughout); fresh
# servers per round (run as root); U's threads at nice $UNICE (19 stands in for a tier on other
# hosts, 0 shares the CPUs evenly). Usage: UNICE=0 ROUNDS=4 busy.sh
HERE=$(dirname "$0"); ROOT=$(git -C "$HERE" rev-parse --show-toplevel)
L=$ROOT/target/release/loadtest; B=$ROOT/target/release/ringstore; D=${WORK:-/tmp/bench}/tier
put4k() { $L --endpoint http://127.0.0.1:9502 --bucket small --op put --size 4KiB --connections 64 --duration 4 --warmup 1 2>&1 | grep "^put " | awk '{print $3}'; }
for r in $(seq 1 "${ROUNDS:-3}"); do
  sync; echo 3 > /proc/sys/vm/drop_caches
  bash "$HERE/servers.sh" > /dev/null
  for t in /proc/$(pgrep -f "ringstore --listen 127.0.0.1:9501")/task/*; do renice -n "${UNICE:-0}" -p "$(basename "$t")" > /dev/null; done
  $L --endpoint http://127.0.0.1:9502 --bucket busy$r --op put --size 64MiB --connections 2 --ops 40 --keys 40 --key-order sequential --warmup 0 > /dev/null 2>&1
  sync; sleep 2
  idle=$(put4k)
  $B bucket --data-dir "$D/main" tier busy$r COLD --after 0s > /dev/null 2>&1
  sleep 1.2
  busy=$(put4k)
  moved=$(grep -c "moved to tier.*bucket=busy$r " "$D/main.log")
  echo "round $r: idle $idle busy $busy ratio $(python3 -c "print(round($busy/$idle, 2))") (moved $moved of 40 by the end)"
done
pkill -f "ringstore --listen 127.0.0.1:950"
