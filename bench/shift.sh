#!/usr/bin/env bash
# Shift change: the real `custodian serve` offloading cameras docked at once,
# timed until every camera is empty, next to cp + sync + sha256sum of the
# same files with the same parallelism; then one camera of many small files.
#
#   bash bench/shift.sh                                   # 20 cameras x 4 x 48 MiB, then 10,000 small files
#   CAMERAS=4 FILES=2 SIZE_MIB=8 SMALL=500 bash bench/shift.sh   # a quick run
#
# Shift: CAMERAS folders of FILES files of SIZE_MIB MiB each (distinct
# pseudo-random content, GA/T 947 names of one 8-hour shift, mtimes in the
# past) are written outside the dock, caches are dropped, and all cameras
# are renamed into the running daemon's dock at once; the clock starts
# there (daemon start-up excluded; the dock's settle, event debounce and
# clock check included) and each camera is timed until no file is left on
# it (polled every POLL). The peer then copies the same bytes, regenerated
# and with caches dropped again: per file `cp` to one folder, `sync` of the
# copy, `sha256sum` of the copy, COPIES at a time (xargs -P). It deletes
# nothing from the cameras.
# Small: SMALL files of 4-16 KiB on one camera, docked and timed the same way.
# After each daemon run the catalog (`custodian ls --json`, read after the
# daemon stopped) must hold every file once, verified and released, with
# the SHA-256 the generator wrote, or the script fails.
#
#   BENCH_DIR   scratch folder, on the disk to measure (default $TMPDIR or /tmp);
#               it holds the cameras and staging at once: 2x the shift's data
#   CUSTODIAN   the binary to run (default: built from this tree)
#   COPIES      the dock's `copies` and the peer's -P (default 4, the shipped default)
#   SETTLE      the dock's `settle` (default 1s)
#   POLL, TIMEOUT   how often a camera is looked at (100ms); give up after (1h)
#   CAMERAS=0 or SMALL=0 skips that part.  KEEP=1 keeps the scratch folder.
set -euo pipefail
cd "$(dirname "$0")/.."
CAMERAS=${CAMERAS:-20}
FILES=${FILES:-4}
SIZE_MIB=${SIZE_MIB:-48}
SMALL=${SMALL:-10000}
COPIES=${COPIES:-4}
SETTLE=${SETTLE:-1s}
POLL=${POLL:-100ms}
TIMEOUT=${TIMEOUT:-1h}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}

WORK=$(mktemp -d "$BENCH_DIR/custodian-shift.XXXXXX")
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_mib=$((CAMERAS * FILES * SIZE_MIB * 2 + SMALL * 16 * 2 / 1024 + 512))
free_mib=$(df -Pm "$WORK" | awk 'NR == 2 {print $4}')
if [ "$free_mib" -lt "$need_mib" ]; then
  echo "shift.sh: $WORK has $free_mib MiB free; this run needs $need_mib MiB (cameras and staging at once)." >&2
  echo "shift.sh: point BENCH_DIR at a larger disk or lower CAMERAS, FILES or SIZE_MIB." >&2
  exit 1
fi

mkdir -p "$WORK/bin"
if [ -z "${CUSTODIAN:-}" ]; then
  go build -ldflags "-X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" \
    -o "$WORK/bin/custodian" ./cmd/custodian
  CUSTODIAN=$WORK/bin/custodian
fi
go build -o "$WORK/bin/shift" ./bench/shift
SHIFT=$WORK/bin/shift
END=$(date -u -d '-30 min' +%Y-%m-%dT%H:%M:%SZ) # the shift ended half an hour before docking

if [ "$(id -u)" = 0 ]; then CACHES=dropped; else CACHES="NOT dropped (not root): reads may come from the page cache"; fi
drop_caches() {
  sync
  if [ "$(id -u)" = 0 ]; then echo 3 >/proc/sys/vm/drop_caches; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
secs() { echo "$1" | awk -F"$2=" '{split($2, a, " "); print a[1]}'; }

# offload NAME CAMERAS FILES MIN_BYTES MAX_BYTES SEED: a fresh daemon, the
# cameras docked at once, timed until empty, the catalog checked. Sets LAST_S,
# FIRST_S and WORK_S (first file taken to last released, from the log).
offload() {
  local name=$1 d=$WORK/$1
  mkdir -p "$d/cams" "$d/dock" "$d/data"
  echo "== $name: writing $2 camera(s) x $3 file(s) of $4-$5 bytes"
  "$SHIFT" gen -dir "$d/cams" -cameras "$2" -files "$3" -min "$4" -max "$5" -seed "$6" -end "$END" \
    -manifest "$d/manifest" -devices "$d/devices.yaml"
  local port
  port=$(free_port)
  cat >"$d/custodian.yaml" <<EOF
station: bench
timezone: Asia/Shanghai
data_dir: $d/data
admin: {listen: 127.0.0.1:$port}
clock: {require_sync: false}
log: {level: info, format: json}
docks:
  - id: dock-a
    path: $d/dock
    profile: gat947
    delete_after_ingest: true
    settle: $SETTLE
    copies: $COPIES
devices:
$(cat "$d/devices.yaml")
EOF
  "$CUSTODIAN" serve --config "$d/custodian.yaml" 2>"$d/serve.log" &
  PID=$!
  local i=0
  until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    if ! kill -0 "$PID" 2>/dev/null || [ $((i += 1)) -gt 300 ]; then
      echo "shift.sh: the daemon did not come up:" >&2
      tail -20 "$d/serve.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  drop_caches
  echo "== $name: docking into the running daemon (caches $CACHES; copies $COPIES, settle $SETTLE)"
  "$SHIFT" dock -from "$d/cams" -to "$d/dock" -pid "$PID" -poll "$POLL" -timeout "$TIMEOUT" -t0 "$d/t0" |
    tee "$d/dock.out"
  kill -TERM "$PID"
  local rc=0
  wait "$PID" || rc=$?
  PID=
  [ "$rc" = 0 ] || echo "shift.sh: WARNING: the daemon exited with status $rc on SIGTERM" >&2
  "$CUSTODIAN" ls --config "$d/custodian.yaml" --json --limit $(($2 * $3 + 1)) | "$SHIFT" check -manifest "$d/manifest"
  "$SHIFT" logstat -t0 "$d/t0" <"$d/serve.log" | tee "$d/logstat.out"
  WORK_S=$(secs "$(grep -m1 work_s= "$d/logstat.out" || true)" work_s)
  FIRST_S=$(secs "$(tail -1 "$d/dock.out")" first_s)
  LAST_S=$(secs "$(tail -1 "$d/dock.out")" last_s)
  rm -rf "$d/data" "$d/dock" # free the disk for what follows
}

# peer NAME CAMERAS FILES BYTES SEED: the same bytes, copied by hand. Sets PEER_S.
peer() {
  local d=$WORK/$1
  mkdir -p "$d/cams" "$d/copy"
  echo "== $1: the same files again, cp + sync + sha256sum of the copy, $COPIES at a time"
  "$SHIFT" gen -dir "$d/cams" -cameras "$2" -files "$3" -min "$4" -max "$4" -seed "$5" -end "$END" -manifest "$d/manifest"
  drop_caches
  local t0
  t0=$(date +%s.%N)
  find "$d/cams" -type f -print0 |
    xargs -0 -n 1 -P "$COPIES" sh -c 'c="$0/${1##*/}"; cp "$1" "$c" && sync "$c" && sha256sum "$c"' "$d/copy" >"$d/sums"
  PEER_S=$(echo "$(date +%s.%N) - $t0" | bc | xargs printf '%.3f')
  if ! diff <(cut -d' ' -f1 "$d/sums" | sort) <(cut -d' ' -f1 "$d/manifest" | sort) >/dev/null; then
    echo "shift.sh: the peer's hashes differ from the files written" >&2
    exit 1
  fi
  echo "peer: $(wc -l <"$d/sums") files, hashes equal the files written, $PEER_S s"
  rm -rf "$d"
}

results=()
if [ "$CAMERAS" -gt 0 ]; then
  size=$((SIZE_MIB << 20))
  offload shift "$CAMERAS" "$FILES" "$size" "$size" 1
  cust_s=$LAST_S first_s=$FIRST_S
  peer shift-peer "$CAMERAS" "$FILES" "$size" 1
  read -r ratio limit_s ratio_ok first_ok < <(awk -v c="$cust_s" -v p="$PEER_S" -v f="$first_s" -v n="$CAMERAS" 'BEGIN {
    r = p / c; l = c / n + 10
    printf "%.2f %.3f %s %s\n", r, l, (r >= 1.5 ? "met" : "NOT_met"), (f <= l ? "met" : "NOT_met") }')
  echo "== shift: custodian ${cust_s} s until every camera was empty; cp+sync+sha256sum ${PEER_S} s"
  echo "   peer / custodian = $ratio (target >= 1.5: ${ratio_ok/_/ })"
  echo "   first camera empty after $first_s s (target <= total/$CAMERAS + 10 s = $limit_s s: ${first_ok/_/ })"
  results+=("$(printf 'shift cameras=%d files=%d size_mib=%d copies=%d custodian_s=%s peer_s=%s ratio=%s first_camera_s=%s limit_s=%s' \
    "$CAMERAS" "$FILES" "$SIZE_MIB" "$COPIES" "$cust_s" "$PEER_S" "$ratio" "$first_s" "$limit_s")")
fi
if [ "$SMALL" -gt 0 ]; then
  offload small 1 "$SMALL" 4096 16384 2
  read -r fps fps_ok < <(awk -v n="$SMALL" -v s="$LAST_S" 'BEGIN { f = n / s; printf "%.1f %s\n", f, (f >= 1000 ? "met" : "NOT_met") }')
  echo "== small: $SMALL files on one camera, empty after $LAST_S s: $fps files/s (target >= 1000: ${fps_ok/_/ })"
  echo "   after the pick-up (first file taken to last released, $WORK_S s): $(awk -v n="$SMALL" -v s="$WORK_S" 'BEGIN { printf "%.1f", n / s }') files/s"
  results+=("$(printf 'small files=%d seconds=%s files_per_s=%s' "$SMALL" "$LAST_S" "$fps")")
fi
echo
printf '%s\n' "${results[@]}"
