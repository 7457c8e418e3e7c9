#!/usr/bin/python3
"""A test camera: GStreamer's RTSP server serving live H.264 video
(videotestsrc + x264enc) and G.711 audio (audiotestsrc + mulawenc or alawenc)
on 127.0.0.1.

Prints "READY rtsp://127.0.0.1:<port>/<path>" (one line per stream, without
credentials) once it listens, then serves until killed. Used by the
interview-room end-to-end tests and bench/rooms.sh.

  scripts/rtsp-server.py [--port 0] [--user U --password P] [--alaw]
                         [--bitrate 1000] [--streams 1] [--size 640x360]
                         [--drop audio:15:18 --drop video:30:42]

--drop TRACK:FROM:TO stops sending TRACK from FROM to TO seconds after the
stream starts (a valve before the encoder, so the RTP timestamps jump, as
when a camera's audio or video stalls); repeatable.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


# videotestsrc patterns that move, so the encoder has real work to do.
PATTERNS = ["ball", "smpte", "snow", "pinwheel", "spokes", "circular", "zone-plate", "gamut"]


def pipeline(args, index):
    width, height = args.size.split("x")
    enc, pay = ("alawenc", "rtppcmapay pt=8 max-ptime=20000000") if args.alaw else ("mulawenc", "rtppcmupay pt=0 max-ptime=20000000")
    # key-int-max: a keyframe every 2 s at 25 fps; each stream gets its own
    # test pattern so no two streams are byte-identical.
    return (
        "( videotestsrc is-live=true pattern={pattern} "
        "! video/x-raw,width={w},height={h},framerate=25/1 ! valve name=vvalve "
        "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=50 bitrate={br} "
        "! rtph264pay name=pay0 pt=96 config-interval=-1 "
        "audiotestsrc is-live=true wave=sine freq={freq} samplesperbuffer=160 "
        "! audio/x-raw,rate=8000,channels=1 ! valve name=avalve ! {enc} ! {pay} name=pay1 )"
    ).format(pattern=PATTERNS[index % len(PATTERNS)], w=width, h=height, br=args.bitrate,
             freq=440 + 10 * index, enc=enc, pay=pay)


def schedule_drops(factory, media, drops):
    """Closes and reopens the valves at the --drop times, counted from now:
    the shared media is configured when the first client connects."""
    bin_ = media.get_element()
    for spec in drops:
        track, start, end = spec.split(":")
        valve = bin_.get_by_name({"audio": "avalve", "video": "vvalve"}[track])
        for at, drop in ((float(start), True), (float(end), False)):
            GLib.timeout_add(int(at * 1000), lambda v=valve, d=drop: v.set_property("drop", d) or False)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    p.add_argument("--alaw", action="store_true", help="A-law instead of mu-law")
    p.add_argument("--bitrate", type=int, default=1000, help="H.264 bitrate in kbit/s")
    p.add_argument("--streams", type=int, default=1, help="serve /stream0../streamN-1 (1: /stream)")
    p.add_argument("--size", default="640x360")
    p.add_argument("--drop", action="append", default=[], help="TRACK:FROM:TO, e.g. audio:15:18")
    args = p.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()

    permissions = None
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        permissions.add_permission_for_role("camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)

    paths = ["/stream"] if args.streams == 1 else ["/stream%d" % i for i in range(args.streams)]
    for i, path in enumerate(paths):
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(pipeline(args, i))
        factory.set_shared(True)  # every client of a path sees the same live stream
        if args.drop:
            factory.connect("media-configure", schedule_drops, args.drop)
        if permissions is not None:
            factory.set_permissions(permissions)
        mounts.add_factory(path, factory)

    if server.attach(None) == 0:
        print("rtsp-server: cannot listen on port %d" % args.port, file=sys.stderr)
        return 1
    port = server.get_bound_port()
    for path in paths:
        print("READY rtsp://127.0.0.1:%d%s" % (port, path), flush=True)

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
