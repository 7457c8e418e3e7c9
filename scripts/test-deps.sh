#!/usr/bin/env bash
# Installs what the tests need when it is missing. Debian packages are
# installed only when running as root (CI); otherwise a missing package is
# reported and the tests that need it fail in CI or skip elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.cache/bin"
mkdir -p "$TOOLS"

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
if [ ! -x "$TOOLS/minio" ]; then
  echo "deps: building MinIO $MINIO_VERSION (about 3 minutes, cached in .cache/bin)"
  GOBIN="$TOOLS" go install "github.com/minio/minio@$MINIO_VERSION"
fi

STATICCHECK_VERSION=v0.8.2
if [ ! -x "$TOOLS/staticcheck" ]; then
  echo "deps: building staticcheck $STATICCHECK_VERSION (cached in .cache/bin)"
  GOBIN="$TOOLS" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi

# MinIO's client: the least-privilege e2e (e2e/policy_test.go) makes users
# and policies with it, and bench/archive.sh compares with its cp.
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
if [ ! -x "$TOOLS/mc" ]; then
  echo "deps: building mc $MC_VERSION (cached in .cache/bin)"
  GOBIN="$TOOLS" go install "github.com/minio/mc@$MC_VERSION"
fi

# Debian packages: command -> package.
declare -A need=(
  [ffprobe]=ffmpeg
  [promtool]=prometheus
  [chromium]=chromium
  [gst-launch-1.0]=gstreamer1.0-tools
  [systemd-analyze]=systemd
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# The GStreamer RTSP server is a library: check for its typelib.
# scripts/rtsp-server.py runs on Debian's python3, which must import gi.
if ! ls /usr/lib/*/girepository-1.0/GstRtspServer-1.0.typelib >/dev/null 2>&1 ||
   ! /usr/bin/python3 -c 'import gi' >/dev/null 2>&1 ||
   ! gst-inspect-1.0 x264enc >/dev/null 2>&1; then
  missing+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly)
fi
# Recorders that push (e2e/push_test.go) are played by GStreamer's
# rtspclientsink, a plugin of its own package.
if ! gst-inspect-1.0 rtspclientsink >/dev/null 2>&1; then
  missing+=(gstreamer1.0-rtsp)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "deps: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "deps: missing Debian packages (install as root): ${missing[*]}" >&2
  fi
fi
