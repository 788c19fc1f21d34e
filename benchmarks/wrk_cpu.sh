#!/bin/bash
# Server CPU per 4 KiB GET or HEAD with an epoll client (issue 25, item 2): wrk for GET (one
# thread, 64 connections, the 1,000 keys in turn), ab -k -i for HEAD (64 connections, one key:
# wrk 4.1 waits for a body after a HEAD answer's Content-Length), against presigned URLs on
# ringstore and plain URLs on nginx serving the same 4 KiB file, each server's utime+stime per
# request from /proc. loadtest's glommio client arms an
# io_uring poll per read, so every response a server sends wakes it by IPI inside the server's
# own send (half of a server's "CPU per request" in nginx_cpu.sh); wrk waits in epoll_wait, which
# a running client does not need to be woken from, so this measures what the server itself costs.
# Usage, from the repo root after `cargo build --release --bins && cargo build --release -p
# loadtest` and `apt install nginx-light wrk apache2-utils python3-boto3`:
#   BIN=target/release/ringstore [OLD=<older ringstore>] [OP=get|head] [SIGNATURE=s3v4|s3] \
#       [CORES=1 WORKERS=1 ROUNDS=3 DURATION=5] benchmarks/wrk_cpu.sh
# Runs go A B B A … per round (ringstore, [old ringstore,] nginx), every server started once and
# kept for all rounds (ringstore warmed by loadtest's prepare phase, nginx by the first round).
# SIGNATURE=s3 presigns SigV2 URLs instead of SigV4. OP=head with OLD needs both builds to
# answer HTTP/1.0 keep-alive as such (ab's requests), so not before c64b957.
set -euo pipefail
BIN=${BIN:-target/release/ringstore}
OP=${OP:-get}
SIGNATURE=${SIGNATURE:-s3v4}
LOADTEST=${LOADTEST:-target/release/loadtest}
PYTHON=${PYTHON:-python3}
work=$(mktemp -d /work/bench-wrk.XXXX)
chmod 755 "$work" # nginx's workers run as an unprivileged user
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
declare -A port pids
start_ringstore() { # name binary port
    "$2" --data-dir "$work/$1" --listen "127.0.0.1:$3" --cores "${CORES:-1}" --log-level warn \
        >"$work/$1.log" 2>&1 &
    pids[$1]=$!
    port[$1]=$3
    until curl -sf "http://127.0.0.1:$3/healthz" >/dev/null; do sleep 0.05; done
    # loadtest's prepare phase writes loadtest/object-00000000 … 00000999 (4 KiB each).
    "$LOADTEST" --endpoint "http://127.0.0.1:$3" --op get --keys 1000 --size 4KiB --duration 1 \
        --warmup 0 >/dev/null 2>&1
    "$PYTHON" - "$3" "$OP" "$SIGNATURE" >"$work/$1.paths" <<'PY'
import sys, boto3
from botocore.config import Config
port, op, signature = sys.argv[1], sys.argv[2], sys.argv[3]
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}",
                  aws_access_key_id="ringstore", aws_secret_access_key="ringstore-secret",
                  region_name="us-east-1",
                  config=Config(signature_version=signature, s3={"addressing_style": "path"}))
for index in range(1000):
    url = s3.generate_presigned_url(f"{op}_object", HttpMethod=op.upper(), ExpiresIn=86400,
                                    Params={"Bucket": "loadtest", "Key": f"object-{index:08d}"})
    print(url.split(port, 1)[1])
PY
}
sides=(new)
start_ringstore new "$BIN" 9551
if [ -n "${OLD:-}" ]; then
    start_ringstore old "$OLD" 9552
    sides+=(old)
fi
# shellcheck source=benchmarks/nginx_static.sh
source "$(dirname "$0")/nginx_static.sh"
start_nginx_static "$work" 9553 "${WORKERS:-1}"
for index in $(seq 0 999); do printf '/loadtest/object-%08d\n' "$index"; done >"$work/nginx.paths"
pids[nginx]=${NGINX_PIDS//,/ }
port[nginx]=9553
sides+=(nginx)
cat >"$work/paths.lua" <<'LUA'
local paths = {}
local index = 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  index = math.random(#paths)
end
request = function()
  index = index % #paths + 1
  return wrk.format("GET", paths[index])
end
LUA
cpu_ticks() { # pids… → "user system" clock ticks
    local user=0 system=0
    for pid in "$@"; do
        read -r u s < <(awk '{print $14, $15}' "/proc/$pid/stat")
        user=$((user + u))
        system=$((system + s))
    done
    echo "$user $system"
}
run() { # side
    local side=$1 before after
    # shellcheck disable=SC2086 # pids holds several, space-separated
    before=$(cpu_ticks ${pids[$side]})
    if [ "$OP" = get ]; then
        wrk -t1 -c64 -d"${DURATION:-5}s" -s "$work/paths.lua" "http://127.0.0.1:${port[$side]}" \
            -- "$work/$side.paths" >"$work/client.out" 2>&1
    else
        # -n bounds the run as -t does (ab keeps a record per request it may send).
        ab -k -i -c 64 -t "${DURATION:-5}" -n 5000000 \
            "http://127.0.0.1:${port[$side]}$(head -1 "$work/$side.paths")" >"$work/client.out" 2>&1
    fi
    # shellcheck disable=SC2086
    after=$(cpu_ticks ${pids[$side]})
    if grep -Eq "Non-2xx|Socket errors|^Failed requests: +[1-9]" "$work/client.out"; then
        cat "$work/client.out" >&2
        exit 1
    fi
    read -r user_before system_before <<<"$before"
    read -r user_after system_after <<<"$after"
    awk -v side="$side" -v user_ticks=$((user_after - user_before)) \
        -v system_ticks=$((system_after - system_before)) -v hz="$(getconf CLK_TCK)" '
        /requests in/ { requests = $1 }              # wrk
        /^Complete requests:/ { requests = $3 }      # ab
        /Requests\/sec/ { rate = $2 }                # wrk
        /^Requests per second:/ { rate = $4 }        # ab
        END { per = 1e6 / hz / requests
              printf "%-6s %9d req/s %7.2f µs server CPU per request (user %.2f, system %.2f)\n",
                     side, rate, (user_ticks + system_ticks) * per, user_ticks * per, system_ticks * per }' "$work/client.out"
}
for round in $(seq "${ROUNDS:-3}"); do
    order=("${sides[@]}")
    if [ $((round % 2)) -eq 0 ]; then
        mapfile -t order < <(printf '%s\n' "${sides[@]}" | tac)
    fi
    echo "round $round"
    for side in "${order[@]}"; do run "$side"; done
done
