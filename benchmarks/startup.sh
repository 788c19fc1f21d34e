#!/bin/bash
# Startup time and memory of a ringstore binary on a data dir: time from exec to /healthz 200,
# RSS then, when the startup scrub finished (ringstore_startup_scrub_done), RSS after, peak.
# Usage (root, for the cache drop): benchmarks/startup.sh BIN DATADIR cold|warm; port 9400.
# A data dir of ten million file-backed objects: RINGSTORE_BENCH_OBJECTS=10000000
# RINGSTORE_BENCH_DATA_DIR=/path cargo bench --bench recovery (~10 min, 10M inodes).
bin=$1; dir=$2; mode=$3
[ "$mode" = cold ] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
t0=$(date +%s%N)
$bin --data-dir $dir --listen 127.0.0.1:9400 --cores 2 --log-level warn > /tmp/startup-server.log 2>&1 &
pid=$!
until curl -sf http://127.0.0.1:9400/healthz >/dev/null 2>&1; do sleep 0.01; done
t1=$(date +%s%N)
rss1=$(grep VmRSS /proc/$pid/status | awk '{print $2}')
# wait for the scrub (new binary) or 60 s
scrub=na
for i in $(seq 1 1200); do
  if curl -s http://127.0.0.1:9400/metrics | grep -q "^ringstore_startup_scrub_done 1"; then scrub=$(( ($(date +%s%N)-t0)/1000000 )); break; fi
  curl -s http://127.0.0.1:9400/metrics | grep -q "ringstore_startup_scrub" || break
  sleep 0.05
done
rss2=$(grep VmRSS /proc/$pid/status | awk '{print $2}')
hwm=$(grep VmHWM /proc/$pid/status | awk '{print $2}')
kill -TERM $pid; wait $pid
echo "$(basename $bin) $mode: serving after $(( (t1-t0)/1000000 )) ms; RSS at serving ${rss1} KiB; scrub done at ${scrub} ms; RSS after ${rss2} KiB; peak ${hwm} KiB"
