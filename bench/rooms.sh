#!/usr/bin/env bash
# Interview-room recording cost: CPU time and peak RSS per recorded stream,
# custodian next to `ffmpeg -rtsp_transport tcp -i URL -c copy -f segment`
# recording the same streams.
#
#   bench/rooms.sh [streams=16] [seconds=60] [kbit/s=4000]
#   CUSTODIAN_BIN=/path/to/custodian bench/rooms.sh 32 60   (another build)
#
# The streams come from bench/rtspsrc (gortsplib) looping a pre-encoded
# 1280x720 25 fps H.264 file plus G.711 audio, so the source costs almost no
# CPU. Both recorders run side by side, at the same time, on the same
# streams, so that whatever else the machine does weighs on both alike; CPU
# is user+system time from /proc, RSS is VmHWM (custodian: one process;
# ffmpeg: the sum of one process per stream).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-16}
SECS=${2:-60}
KBPS=${3:-4000}
W=$(mktemp -d)
trap 'cp "$W"/*.log /tmp/ 2>/dev/null; kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
TCK=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/{print $2}' "/proc/$1/status"; }

echo "encoding 10 s of ${KBPS} kbit/s H.264 (1280x720, 25 fps, keyframe every 2 s)"
ffmpeg -v error -f lavfi -i "testsrc2=size=1280x720:rate=25" -t 10 -c:v libx264 -preset veryfast \
  -x264-params slices=1:sliced-threads=0 -b:v "${KBPS}k" -maxrate "${KBPS}k" -bufsize "$((KBPS/2))k" -g 50 -bf 0 \
  -bsf:v h264_mp4toannexb -f h264 "$W/src.h264"
go build -o "$W/rtspsrc" ./bench/rtspsrc
# CUSTODIAN_BIN compares another build of custodian (an A/B of a change).
if [ -n "${CUSTODIAN_BIN:-}" ]; then cp "$CUSTODIAN_BIN" "$W/custodian-bin"; else go build -o "$W/custodian-bin" ./cmd/custodian; fi
PORT=$(free_port)
"$W/rtspsrc" -h264 "$W/src.h264" -streams "$N" -addr "127.0.0.1:$PORT" >"$W/src.log" 2>&1 &
SRC=$!
sleep 1

# custodian: one daemon, N rooms.
ADMIN=$(free_port)
{
  echo "station: bench"
  echo "data_dir: $W/custodian"
  echo "admin: {listen: 127.0.0.1:$ADMIN}"
  echo "log: {level: info}"
  echo "rooms:"
  for i in $(seq 0 $((N-1))); do echo "  - {id: room$i, url: rtsp://127.0.0.1:$PORT/s$i, segment: 10s}"; done
} >"$W/c.yaml"
"$W/custodian-bin" serve --config "$W/c.yaml" 2>"$W/custodian.log" &
CPID=$!

# ffmpeg: one process per stream (the usual way to record with ffmpeg).
PIDS=()
for i in $(seq 0 $((N-1))); do
  mkdir -p "$W/ffmpeg/$i"
  ffmpeg -v error -rtsp_transport tcp -i "rtsp://127.0.0.1:$PORT/s$i" -c copy -f segment \
    -segment_time 10 -segment_format mov "$W/ffmpeg/$i/%03d.mov" </dev/null 2>>"$W/ffmpeg.log" &
  PIDS+=($!)
done
sleep "$SECS"
C_TICKS=$(cpu_ticks $CPID); C_KB=$(hwm_kb $CPID)
F_TICKS=0; F_KB=0
for p in "${PIDS[@]}"; do
  F_TICKS=$((F_TICKS + $(cpu_ticks "$p"))); F_KB=$((F_KB + $(hwm_kb "$p")))
done
kill -TERM $CPID; kill -INT "${PIDS[@]}"
wait $CPID || true; wait "${PIDS[@]}" || true
# Streams with the same content make identical segments, which staging
# stores once (content addressing): count what was sealed, not the blobs.
C_SEGS=$(grep -c 'room segment sealed' "$W/custodian.log" || true)
C_BYTES=$(grep -o 'msg="room segment sealed".* size=[0-9]*' "$W/custodian.log" | sed 's/.*size=//' | awk '{s+=$1} END {print s+0}')
F_BYTES=$(du -sb "$W/ffmpeg" | cut -f1)

awk -v n="$N" -v s="$SECS" -v tck="$TCK" -v ct="$C_TICKS" -v ck="$C_KB" -v ft="$F_TICKS" -v fk="$F_KB" \
    -v cb="$C_BYTES" -v fb="$F_BYTES" -v segs="$C_SEGS" -v kbps="$KBPS" 'BEGIN {
  cc = ct / tck; fc = ft / tck
  printf "%d streams x %d kbit/s H.264 + G.711, both recorders side by side for %d s, %d cores\n", n, kbps, s, '"$(nproc)"'
  printf "%-10s %14s %16s %14s %12s\n", "recorder", "CPU s total", "CPU %/stream", "RSS MiB/strm", "MB written"
  printf "%-10s %14.2f %16.2f %14.2f %12.1f\n", "custodian", cc, 100*cc/s/n, ck/1024/n, cb/1e6
  printf "%-10s %14.2f %16.2f %14.2f %12.1f\n", "ffmpeg", fc, 100*fc/s/n, fk/1024/n, fb/1e6
  printf "ratio custodian/ffmpeg: CPU %.2f, RSS %.2f (custodian sealed %d segments, each hashed, fsynced, re-read)\n", cc/fc, ck/fk, segs
}'
