#!/usr/bin/env bash
# Starts the two servers of the tier benchmarks (issue 24), killing earlier ones:
#   U: a release ringstore on 127.0.0.1:9501 (bucket "cold"), its data dir on tmpfs when
#      UPSTREAM_ON=tmpfs (a tier whose disk is not M's), else on disk under $WORK;
#   M: ringstore on 127.0.0.1:9502 with tier COLD = U, extra arguments from $MAINARGS.
# Usage: WORK=/tmp/bench UPSTREAM_ON=tmpfs|disk MAINARGS="--tier-cache-mb 512" servers.sh
set -u
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
B=$ROOT/target/release/ringstore
WORK=${WORK:-/tmp/bench}
D=$WORK/tier
pkill -f "ringstore --listen 127.0.0.1:950" ; sleep 1
rm -rf "$D" /dev/shm/ringstore-bench-up; mkdir -p "$D"
UP=$D/up; [ "${UPSTREAM_ON:-tmpfs}" = tmpfs ] && UP=/dev/shm/ringstore-bench-up
$B --listen 127.0.0.1:9501 --data-dir "$UP" --cores 1 --access-key upkey --secret-key upsecret-0123456789 --log-level warn > "$D/up.log" 2>&1 &
sleep 1
AWS_ACCESS_KEY_ID=upkey AWS_SECRET_ACCESS_KEY=upsecret-0123456789 "$ROOT/target/test-venv/bin/python" - <<'PY'
import boto3
boto3.client('s3', endpoint_url='http://127.0.0.1:9501', region_name='us-east-1').create_bucket(Bucket='cold')
PY
export RINGSTORE_TIER_COLD_ACCESS_KEY_ID=upkey RINGSTORE_TIER_COLD_SECRET_ACCESS_KEY=upsecret-0123456789
# shellcheck disable=SC2086
$B --listen 127.0.0.1:9502 --data-dir "$D/main" --cores 1 --log-level info ${MAINARGS:-} --tier 'COLD=s3://cold/pre?endpoint=http://127.0.0.1:9501&path_style=true' > "$D/main.log" 2>&1 &
sleep 1
