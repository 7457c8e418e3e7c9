package room

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestDownReason(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"401", fmt.Errorf("describe: %w", liberrors.ErrClientBadStatusCode{Code: base.StatusUnauthorized, Message: "Unauthorized"}), ReasonAuth},
		{"403", fmt.Errorf("setup h264: %w", liberrors.ErrClientBadStatusCode{Code: base.StatusForbidden}), ReasonAuth},
		{"404", fmt.Errorf("describe: %w", liberrors.ErrClientBadStatusCode{Code: base.StatusNotFound}), ReasonOther},
		{"refused", fmt.Errorf("connect: %w", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), ReasonUnreachable},
		{"no route", fmt.Errorf("connect: %w", syscall.EHOSTUNREACH), ReasonUnreachable},
		{"dns", fmt.Errorf("connect: %w", &net.DNSError{Err: "no such host", Name: "cam"}), ReasonUnreachable},
		{"timeout", fmt.Errorf("describe: %w", timeoutErr{}), ReasonUnreachable},
		{"deadline", fmt.Errorf("describe: %w", os.ErrDeadlineExceeded), ReasonUnreachable},
		{"stall", fmt.Errorf("%w for 10s", errStall), ReasonNoMedia},
		{"nothing recordable", ErrNoMedia, ReasonNoMedia},
		{"write error", &os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}, ReasonOther},
		{"other", errors.New("stream: EOF"), ReasonOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := downReason(tc.err); got != tc.want {
				t.Errorf("downReason(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

// A room that cannot record says since when and why, and its recording
// gauge is 0; once it records, both clear.
func TestRoomStatusSaysWhyNotRecording(t *testing.T) {
	cam := newCamera(t, "officer", "s3cret-pw")
	e := newTestEnv(t)
	m := NewMetrics(nil)
	start := time.Now()
	r := New(e.roomConfig("interview-9", strings.Replace(cam.url(), "s3cret-pw", "wrong-pw", 1)), e.Env, m)
	if st := r.Status(); st.AlertAfter != DefaultAlertAfter || st.NotRecordingSince.Before(start) || st.NotRecordingReason != ReasonConnecting {
		t.Errorf("status before Run %+v: want not recording since New, connecting, alert after %s", st, DefaultAlertAfter)
	}
	stop := runRoom(t, r)
	waitFor(t, "refused", 10*time.Second, func() bool { return r.Status().NotRecordingReason == ReasonAuth })
	stop()
	st := r.Status()
	if st.NotRecordingSince.IsZero() || st.NotRecordingSince.Before(start) || st.NotRecordingSince.After(time.Now()) {
		t.Errorf("not recording since %v", st.NotRecordingSince)
	}
	if got := testutil.ToFloat64(m.Recording.WithLabelValues("interview-9")); got != 0 {
		t.Errorf("custodian_room_recording %v, want 0", got)
	}
	js, _ := json.Marshal(st)
	if strings.Contains(string(js), "wrong-pw") || !strings.Contains(string(js), `"not_recording_reason":"auth refused"`) {
		t.Errorf("status %s", js)
	}

	cfg := e.roomConfig("interview-10", cam.url())
	cfg.AlertAfter = 5 * time.Second
	r2 := New(cfg, e.Env, m)
	stop2 := runRoom(t, r2)
	waitFor(t, "recording", 10*time.Second, func() bool { return r2.Status().Segment != "" })
	st = r2.Status()
	if !st.NotRecordingSince.IsZero() || st.NotRecordingReason != "" || st.AlertAfter != 5*time.Second {
		t.Errorf("recording room's status %+v", st)
	}
	if got := testutil.ToFloat64(m.Recording.WithLabelValues("interview-10")); got != 1 {
		t.Errorf("custodian_room_recording %v while recording, want 1", got)
	}
	stop2()
	if got := testutil.ToFloat64(m.Recording.WithLabelValues("interview-10")); got != 0 {
		t.Errorf("custodian_room_recording %v after stop, want 0", got)
	}
}
