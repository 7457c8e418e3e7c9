#!/usr/bin/env bash
# Dock ingest throughput, custodian next to cp + sha256sum on the same files,
# as ratios. Every round starts with the source's pages dropped from cache.
#   bash bench/ingest.sh            # 1 GiB file, 5 rounds each
#   SIZE=$((4<<30)) ROUNDS=3 bash bench/ingest.sh
# TMPDIR chooses the disk (put it on the staging disk to measure that disk).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE="${SIZE:-$((1<<30))}"
ROUNDS="${ROUNDS:-5}"
out=$(CUSTODIAN_BENCH_SIZE="$SIZE" go test ./storage/staging -run '^$' -bench 'BenchmarkIngest|BenchmarkPutMemory' \
  -benchtime "${ROUNDS}x" -count 1 -benchmem)
echo "$out" | grep -E '^Benchmark'
echo
echo "$out" | awk -v size="$SIZE" '
  /^BenchmarkIngest\// {
    split($1, a, "/"); name=a[2]; sub(/-[0-9]+$/, "", name)
    for (i = 2; i <= NF; i++) if ($(i+1) == "MB/s") mbs[name] = $i
  }
  END {
    printf "file size %.0f MiB\n", size/1048576
    for (n in mbs) printf "  %-20s %8.1f MB/s\n", n, mbs[n]
    c = mbs["custodian"]
    printf "ratio custodian / cp+sha256sum      = %.2f\n", c / mbs["cp+sha256sum"]
    printf "ratio custodian / cp+sync+sha256sum = %.2f\n", c / mbs["cp+sync+sha256sum"]
  }'
