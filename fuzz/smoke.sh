#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 10) from a scratch copy of the committed seed
# corpus; a crash fails the run and leaves its input under fuzz/artifacts/<target>/.
# Long manual mode: bash fuzz/smoke.sh 600
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-10}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cargo +nightly fuzz build -O
for target in $(cargo +nightly fuzz list); do
    mkdir -p "$scratch/$target"
    cp -r "corpus/$target/." "$scratch/$target/" 2>/dev/null || true
    echo "fuzz: $target for ${seconds}s"
    cargo +nightly fuzz run -O "$target" "$scratch/$target" -- -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 2>&1 | tail -2
done
