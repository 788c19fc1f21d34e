#!/bin/bash
# Sourced by the benchmark scripts that measure ringstore next to nginx (issue 25's anchor):
#   start_nginx_static DIR PORT WORKERS
# serves one 4 KiB random file as DIR/html/one and as 1,000 hard links
# DIR/html/loadtest/object-00000000 … 00000999 (the keys loadtest's prepare phase writes), with
# sendfile and no access log, from WORKERS workers on 127.0.0.1:PORT, in the background (the
# caller's trap kills it). Sets NGINX_MASTER (its pid) and NGINX_PIDS (master and workers,
# comma-separated, for loadtest's --compare-server-pid). DIR must be readable by nginx's
# unprivileged workers.
start_nginx_static() {
    local dir=$1 port=$2 workers=$3 index
    mkdir -p "$dir/html/loadtest" "$dir/logs"
    head -c 4096 /dev/urandom >"$dir/html/one"
    for index in $(seq 0 999); do
        ln "$dir/html/one" "$dir/html/loadtest/$(printf 'object-%08d' "$index")"
    done
    cat >"$dir/nginx.conf" <<CONF
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$port; root $dir/html; }
}
CONF
    "${NGINX:-$(command -v nginx)}" -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' \
        >"$dir/nginx.out" 2>&1 &
    NGINX_MASTER=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$port/one"; do sleep 0.05; done
    # The master listens before it forks its workers: wait until all are there.
    until [ "$(pgrep -c -P "$NGINX_MASTER" || true)" -ge "$workers" ]; do sleep 0.05; done
    NGINX_PIDS="$(pgrep -d, -P "$NGINX_MASTER"),$NGINX_MASTER"
}
