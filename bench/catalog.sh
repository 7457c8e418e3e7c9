#!/usr/bin/env bash
# The catalog at scale: builds a catalog of N recordings with the project's
# own write path (bench/catalogbuild: a busy station's year, cameras,
# officers, interview rooms, holds and cases, evicted, expiring and expired
# records, about four custody events each), then measures the real
# `custodian serve` on it:
#
#   start_s             start to the first /healthz, the catalog file dropped
#                       from the page cache first (cold)
#   rss_mib             peak RSS (VmHWM: heap, stacks and the catalog pages
#                       bbolt's map touched) over start, sweep, plan and ls;
#                       anon_mib is the largest RssAnon sampled (heap alone)
#   sweep_ms            the first retention sweep, with nothing due
#   plan_s              GET /api/v1/retention/plan
#   ls_officer_day_ms   GET /api/v1/recordings?officer=..&from=DAY&to=DAY+1,
#                       the median of 5 (officers and days vary); the same
#                       five are timed in-process too (bench/catalogls),
#                       as sqlite3's are, and the ratio printed
#   bytes_per_recording the catalog file's size over N, as the write path
#                       left it (batches of 10,000: free pages and the
#                       half-split pages of indexes that grow in many
#                       places); then `custodian catalog compact` is timed
#                       and the compacted size printed too (COMPACT=0 skips)
#
# Then the same rows and indexes in sqlite3 (if installed) and the same
# queries there. The LAST line is the custodian measurement:
#   records=N start_s=.. rss_mib=.. sweep_ms=.. plan_s=.. ls_officer_day_ms=.. bytes_per_recording=..
#
# Usage: bash bench/catalog.sh [N]        (default 1000000)
#   BENCH_DIR   scratch disk (default /tmp)
#   CUSTODIAN   the binary to start (default: make build, bin/custodian)
#   DATA        reuse a work dir a previous run kept (KEEP=1) instead of building
#   KEEP=1      keep the work dir and print where it is
set -euo pipefail
N=${1:-1000000}
cd "$(dirname "$0")/.."
ROOT=$PWD
if [ -z "${CUSTODIAN:-}" ]; then
  make -s build
  CUSTODIAN=$ROOT/bin/custodian
fi

WORK=${DATA:-$(mktemp -d "${BENCH_DIR:-/tmp}/custodian-catalog.XXXXXX")}
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [ "${KEEP:-}" = 1 ] || [ -n "${DATA:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT=$(free_port)
DB=$WORK/data/custodian.db
( umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$WORK/token" )
TOKEN=$(cat "$WORK/token")
cat >"$WORK/custodian.yaml" <<EOF
station: st01
timezone: Asia/Shanghai
data_dir: $WORK/data
admin: {listen: 127.0.0.1:$PORT, token_file: $WORK/token}
log: {level: warn}
EOF

if [ -z "${DATA:-}" ]; then
  mkdir -p "$WORK/rows"
  t0=$(date +%s)
  go run ./bench/catalogbuild -config "$WORK/custodian.yaml" -n "$N" -rows "$WORK/rows"
  echo "catalog: $N recordings, $(du -h "$DB" | cut -f1), built in $(( $(date +%s) - t0 )) s" >&2
fi
sync

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc | xargs printf '%.3f'; }
metric() { curl -fsS "http://127.0.0.1:$PORT/metrics" -H "Authorization: Bearer $TOKEN" 2>/dev/null | awk -v m="$1" '$1 == m {print $2}'; }
api() { curl -fsS -o "$WORK/answer.json" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$1"; }
anon=0
sample() {
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  local kb
  kb=$(awk '/^RssAnon/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0)
  [ "${kb:-0}" -gt "$anon" ] && anon=$kb
  return 0
}
# drop the catalog file's pages from the page cache: a cold start without
# touching the rest of the machine's cache
python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$DB"

start=$(now)
"$CUSTODIAN" serve --config "$WORK/custodian.yaml" 2>>"$WORK/serve.log" &
PID=$!
until curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
  sample
  sleep 0.005
done
start_s=$(since "$start")
until [ "$(metric custodian_retention_sweep_duration_seconds_count)" = 1 ]; do
  sample
  sleep 0.02
done
sweep_ms=$(metric custodian_retention_sweep_duration_seconds_sum | awk '{printf "%.0f", $1 * 1000}')
sample
plan_s=$(api /api/v1/retention/plan | awk '{printf "%.3f", $1}')
sample
# five officers, five days spread over the year the catalog covers
lsdays=()
lsq=()
found=0
for k in 1 2 3 4 5; do
  day=$(date -u -d "@$(( $(date +%s) - k * 60 * 86400 ))" +%F)
  officer=$(printf '%06d' $(( k * 77 % 400 )))
  api "/api/v1/recordings?officer=$officer&from=$day&to=$(date -u -d "$day + 1 day" +%F)" >/dev/null # warm the path once
  lsdays+=("$(api "/api/v1/recordings?officer=$officer&from=$day&to=$(date -u -d "$day + 1 day" +%F)")")
  found=$(( found + $(grep -c '"sha256"' "$WORK/answer.json" || true) ))
  lsq+=("$officer,$(TZ=Asia/Shanghai date -d "$day" +%s)000000000,$(TZ=Asia/Shanghai date -d "$day + 1 day" +%s)000000000")
done
ls_ms=$(printf '%s\n' "${lsdays[@]}" | sort -n | sed -n 3p | awk '{printf "%.1f", $1 * 1000}')
sample
hwm=$(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$PID/status")
kill -TERM "$PID"
wait "$PID" || true
PID=
bytes=$(( $(stat -c %s "$DB") / N ))
# the same five officer-days in-process on the catalog file, as sqlite's
# are timed below: the query and its decoded rows, no HTTP, no JSON
read -r ip_ls ip_found < <(go run ./bench/catalogls -db "$DB" "${lsq[@]}")
if [ "${COMPACT:-1}" = 1 ]; then
  t=$(now)
  "$CUSTODIAN" catalog compact --config "$WORK/custodian.yaml" >&2
  echo "custodian catalog compact: $(since "$t") s, bytes_per_recording=$(( $(stat -c %s "$DB") / N )) after"
  rm -f "$DB.pre-compact"
fi

if command -v sqlite3 >/dev/null && [ -d "$WORK/rows" ]; then
  SQ=$WORK/sqlite.db
  if [ -n "${DATA:-}" ] && [ -s "$SQ" ]; then
    echo "sqlite3: reusing $SQ from the kept run" >&2
  else
  rm -f "$SQ"
  sqlite3 "$SQ" <<EOF
CREATE TABLE recordings (id INTEGER PRIMARY KEY, officer TEXT, device TEXT, source TEXT, source_id TEXT, state TEXT,
  sha256 TEXT, started INTEGER, received INTEGER, retain_until INTEGER, archived INTEGER, evicted INTEGER,
  expiring INTEGER, held INTEGER, name TEXT, size INTEGER, cases TEXT);
CREATE TABLE events (seq INTEGER PRIMARY KEY, recording INTEGER, type TEXT, time INTEGER, actor TEXT, detail TEXT, prev TEXT, hash TEXT);
.mode tabs
.import $WORK/rows/recordings.tsv recordings
.import $WORK/rows/events.tsv events
CREATE INDEX idx_officer ON recordings (officer, started);
CREATE INDEX idx_device ON recordings (device, started);
CREATE INDEX idx_room ON recordings (source_id, started) WHERE source = 'room';
CREATE INDEX idx_state ON recordings (state);
CREATE INDEX idx_time ON recordings (started);
CREATE INDEX idx_sha ON recordings (sha256);
CREATE INDEX idx_retain ON recordings (started) WHERE state IN ('verified', 'archived') AND held = 0;
CREATE INDEX idx_evict ON recordings (archived) WHERE state = 'archived' AND evicted = 0;
EOF
  fi
  sync
  python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$SQ"
  t=$(now); sqlite3 "$SQ" 'SELECT count(*) FROM recordings;' >/dev/null; sq_open=$(since "$t")
  t=$(now); sqlite3 "$SQ" "SELECT count(*), sum(length(name)) FROM recordings WHERE state NOT IN ('expired');" >/dev/null; sq_scan=$(since "$t")
  due=$(( $(date +%s) - 183 * 86400 ))000000000
  t=$(now); sqlite3 "$SQ" "SELECT id FROM recordings WHERE state IN ('verified','archived') AND held = 0 AND started < $due AND retain_until < $(date +%s)000000000;" >/dev/null; sq_plan=$(since "$t")
  # the five officer-days custodian was asked, timed in-process (no HTTP,
  # no JSON: sqlite's side is the query alone), median
  sq_ls=$(python3 - "$SQ" "${lsq[@]}" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
ts = []
for q in sys.argv[2:]:
    officer, frm, to = q.split(",")
    rows = lambda: db.execute("SELECT * FROM recordings WHERE officer = ? AND started >= ? AND started < ? ORDER BY started",
                              (officer, int(frm), int(to))).fetchall()
    rows()
    t = time.perf_counter(); rows(); ts.append(time.perf_counter() - t)
print("%.3f" % (sorted(ts)[len(ts) // 2] * 1000))
PY
)
  echo "sqlite3 $(sqlite3 --version | cut -d' ' -f1): open_s=$sq_open full_scan_s=$sq_scan plan_s=$sq_plan ls_officer_day_ms=$sq_ls bytes_per_recording=$(( $(stat -c %s "$SQ") / N )) (events included)"
  echo "officer-day in-process: custodian ${ip_ls} ms, sqlite3 ${sq_ls} ms: ratio $(echo "$ip_ls / $sq_ls" | bc -l | xargs printf '%.2f')"
else
  echo "sqlite3: not installed (or rows not built with this run): no comparison"
fi
echo "custodian: peak anon_mib=$((anon / 1024)) (heap and stacks alone); the five ls answers held $found recordings (in-process: ${ip_ls} ms, $ip_found)"
echo "records=$N start_s=$start_s rss_mib=$hwm sweep_ms=$sweep_ms plan_s=$plan_s ls_officer_day_ms=$ls_ms bytes_per_recording=$bytes"
