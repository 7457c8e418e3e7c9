#!/usr/bin/env bash
# Daemon start on a big catalog: builds a catalog of N recordings, a busy
# station's year (bench/catalogbuild), starts the real `custodian serve` on
# it (local-only, no docks or rooms) and prints how long until /healthz
# answers, how long until the first retention sweep has finished, and the
# peak RSS (VmHWM from /proc/<pid>/status) up to then. VmHWM counts the
# pages of the catalog file bbolt maps and touches; peak_anon_mib is the
# largest RssAnon seen (sampled every 5-20 ms): the heap and stacks alone.
#
# Usage: bash bench/start.sh [N]          (default 1000000)
#   BENCH_DIR   scratch disk for the catalog (default /tmp)
#   CUSTODIAN   the binary to start (default: make build, bin/custodian)
#   DATA        reuse a data dir a previous run kept (KEEP=1) instead of building one
#   KEEP=1      keep the data dir and print where it is
#   RUNS        how many starts to time on the one catalog (default 3)
set -euo pipefail
N=${1:-1000000}
cd "$(dirname "$0")/.."
ROOT=$PWD
if [ -z "${CUSTODIAN:-}" ]; then
  make -s build
  CUSTODIAN=$ROOT/bin/custodian
fi

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/custodian-start.XXXXXX")
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT=$(free_port)
DATA_DIR=${DATA:-$WORK/data}
cat >"$WORK/custodian.yaml" <<EOF
station: st01
timezone: Asia/Shanghai
data_dir: $DATA_DIR
admin: {listen: 127.0.0.1:$PORT}
log: {level: warn}
EOF

if [ -z "${DATA:-}" ]; then
  t0=$(date +%s.%N)
  go run ./bench/catalogbuild -config "$WORK/custodian.yaml" -n "$N"
  echo "catalog: $N recordings, $(du -sh "$DATA_DIR/custodian.db" | cut -f1), built in $(echo "$(date +%s.%N) - $t0" | bc | xargs printf '%.0f') s" >&2
fi
sync

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc | xargs printf '%.3f'; }
metric() { curl -fsS "http://127.0.0.1:$PORT/metrics" 2>/dev/null | awk -v m="$1" '$1 == m {print $2}'; }
anon=0
sample() {
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  local kb
  kb=$(awk '/^RssAnon/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0)
  [ "${kb:-0}" -gt "$anon" ] && anon=$kb
  return 0
}

printf '%-4s %-10s %-14s %-13s %s\n' run healthz_s first_sweep_s peak_rss_mib peak_anon_mib
for run in $(seq "${RUNS:-3}"); do
  anon=0
  start=$(now)
  "$CUSTODIAN" serve --config "$WORK/custodian.yaml" 2>>"$WORK/serve.log" &
  PID=$!
  until curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
    sample
    sleep 0.005
  done
  healthz=$(since "$start")
  until [ "$(metric custodian_retention_sweep_duration_seconds_count)" = 1 ]; do
    sample
    sleep 0.02
  done
  sweep=$(since "$start")
  sample
  hwm=$(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$PID/status")
  kill -TERM "$PID"
  wait "$PID" || true
  PID=
  printf '%-4s %-10s %-14s %-13s %s\n' "$run" "$healthz" "$sweep" "$hwm" "$((anon / 1024))"
done
