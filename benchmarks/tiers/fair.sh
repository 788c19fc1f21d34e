#!/usr/bin/env bash
# Mover vs direct PUT to the tier, 64 MiB objects: each measurement on freshly started servers
# with caches dropped (run as root), after the same 16 x 64 MiB PUT into M; alternating.
# Usage: UPSTREAM_ON=tmpfs|disk ROUNDS=6 fair.sh
HERE=$(dirname "$0"); ROOT=$(git -C "$HERE" rev-parse --show-toplevel)
L=$ROOT/target/release/loadtest
for r in $(seq 1 "${ROUNDS:-6}"); do
  sync; echo 3 > /proc/sys/vm/drop_caches
  bash "$HERE/servers.sh" > /dev/null
  if [ $((r % 2)) = 1 ]; then
    $L --endpoint http://127.0.0.1:9502 --bucket local$r --op put --size 64MiB --connections 1 --ops 16 --keys 16 --key-order sequential --warmup 0 > /dev/null 2>&1; sync
    echo -n "direct: "; $L --endpoint http://127.0.0.1:9501 --access-key upkey --secret-key upsecret-0123456789 --bucket direct$r --op put --size 64MiB --connections 1 --ops 16 --warmup 0 2>&1 | tail -1 | awk '{print $4 " MB/s"}'
  else
    echo -n "mover: "; bash "$HERE/move.sh" moved$r
  fi
done
pkill -f "ringstore --listen 127.0.0.1:950"
