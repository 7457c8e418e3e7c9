#!/usr/bin/env bash
# Archive upload throughput against a local MinIO: custodian's uploader
# (re-verify, PUT with SHA-256 checksums under a COMPLIANCE lock, HEAD
# proof, catalog update, 4 uploads at once) next to two peers on the same
# files, one 1 GiB file and 200 x 10 MiB: `mc cp` with a SHA-256 checksum
# and a COMPLIANCE lock, and minio-go's FPutObject with its defaults under
# the same lock from 4 workers (bench/fputup). The ratio is custodian's
# throughput over the better peer's.
# Usage: bash bench/archive.sh   (BENCH_DIR picks the scratch disk, default /tmp;
# BIG_MIB and SMALL_N shrink the sets for a quick look; CPUPROFILE=DIR keeps
# custodian's CPU profiles there; RUNS=N runs each tool N times, in a
# rotating order, and keeps each one's best: for a machine others share)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.cache/bin
MINIO=${CUSTODIAN_MINIO:-$TOOLS/minio}
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
MC=${MC:-$TOOLS/mc}
if [ ! -x "$MC" ]; then
  if command -v mc >/dev/null && mc --version 2>/dev/null | grep -q 'mc version'; then
    MC=$(command -v mc)
  else
    echo "bench: building mc $MC_VERSION into $TOOLS" >&2
    GOBIN=$TOOLS go install "github.com/minio/mc@$MC_VERSION"
  fi
fi
[ -x "$MINIO" ] || { echo "bench: no MinIO at $MINIO (run make deps)" >&2; exit 1; }

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/custodian-bench.XXXXXX")
MINIO_PID=
cleanup() {
  [ -n "$MINIO_PID" ] && kill "$MINIO_PID" 2>/dev/null && wait "$MINIO_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT=$(free_port)
AK=bench$RANDOM$RANDOM
SK=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
MINIO_ROOT_USER=$AK MINIO_ROOT_PASSWORD=$SK MINIO_BROWSER=off MINIO_UPDATE=off \
  "$MINIO" server "$WORK/minio" --address "127.0.0.1:$PORT" --console-address "127.0.0.1:$(free_port)" --quiet \
  >"$WORK/minio.log" 2>&1 &
MINIO_PID=$!
for _ in $(seq 200); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/" || true)
  [ "$code" = 403 ] && break
  sleep 0.1
done

echo "bench: writing test files to $WORK" >&2
mkdir -p "$WORK/big" "$WORK/small"
BIG_MIB=${BIG_MIB:-1024}
SMALL_N=${SMALL_N:-200}
head -c $((BIG_MIB << 20)) /dev/urandom >"$WORK/big/one-1GiB.bin"
for i in $(seq -w 1 "$SMALL_N"); do head -c $((10 << 20)) /dev/urandom >"$WORK/small/f$i.bin"; done

go build -o "$WORK/archiveup" ./bench/archiveup
go build -o "$WORK/fputup" ./bench/fputup
export MC_CONFIG_DIR=$WORK/mc MC_HOST_bench="http://$AK:$SK@127.0.0.1:$PORT"
"$MC" --quiet mb --with-lock bench/mc-big >/dev/null
"$MC" --quiet mb --with-lock bench/mc-small >/dev/null

now() { date +%s.%N; }
custodian_run() { # label files...
  local label=$1; shift
  rm -rf "$WORK/data"
  local prof=()
  [ -n "${CPUPROFILE:-}" ] && mkdir -p "$CPUPROFILE" && prof=(-cpuprofile "$CPUPROFILE/custodian-$label.pprof")
  "$WORK/archiveup" -endpoint "127.0.0.1:$PORT" -bucket "cust-$label-$round" -access "$AK" -secret "$SK" \
    -data "$WORK/data" -label "$label" "${prof[@]}" "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'
}
fput_run() { # label files...
  local label=$1; shift
  "$WORK/fputup" -endpoint "127.0.0.1:$PORT" -bucket "fput-$label-$round" -access "$AK" -secret "$SK" \
    -workers 4 -label "$label" "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'
}
mc_run() { # bucket source
  local t0 t1
  t0=$(now)
  "$MC" --quiet cp --recursive --checksum SHA256 --retention-mode compliance --retention-duration 1d "$2" "bench/$1/" >/dev/null
  t1=$(now)
  python3 -c "print($t1 - $t0)"
}

best() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:] if x))" "$@"; }
run_set() { # set tool -> seconds
  case $1-$2 in
    big-c) custodian_run big "$WORK/big/one-1GiB.bin" ;;
    big-m) mc_run mc-big "$WORK/big/one-1GiB.bin" ;;
    big-f) fput_run big "$WORK/big/one-1GiB.bin" ;;
    small-c) custodian_run small "$WORK"/small/*.bin ;;
    small-m) mc_run mc-small "$WORK/small/" ;;
    small-f) fput_run small "$WORK"/small/*.bin ;;
  esac
}
big=$((BIG_MIB << 20)); small=$((SMALL_N * (10 << 20)))
declare -A secs
orders=("c m f" "m f c" "f c m")
for round in $(seq 1 "${RUNS:-1}"); do
  for set in big small; do
    for tool in ${orders[$(((round - 1) % 3))]}; do
      t=$(run_set "$set" "$tool")
      echo "bench: round $round $set $tool ${t}s" >&2
      secs[$set-$tool]="${secs[$set-$tool]:-} $t"
    done
  done
done
c_big=$(best ${secs[big-c]}); m_big=$(best ${secs[big-m]}); f_big=$(best ${secs[big-f]})
c_small=$(best ${secs[small-c]}); m_small=$(best ${secs[small-m]}); f_small=$(best ${secs[small-f]})

python3 - "$big" "$c_big" "$m_big" "$f_big" "$small" "$c_small" "$m_small" "$f_small" <<'PY'
import sys
big, cb, mb, fb, small, cs, ms, fs = (float(x) for x in sys.argv[1:])
mib = 1 << 20
print(f"{'set':<16}{'custodian MiB/s':>17}{'mc cp MiB/s':>13}{'FPutObject MiB/s':>18}{'ratio':>8}")
for name, size, c, m, f in (("1 x %d MiB" % (big // mib), big, cb, mb, fb),
                            ("%d x 10 MiB" % (small // (10 * mib)), small, cs, ms, fs)):
    best = min(m, f)
    print(f"{name:<16}{size/c/mib:>17.1f}{size/m/mib:>13.1f}{size/f/mib:>18.1f}{best/c:>8.2f}")
PY
