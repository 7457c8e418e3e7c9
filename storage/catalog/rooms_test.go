package catalog

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestGapsPerRoomInTimeOrder(t *testing.T) {
	c := openTestCatalog(t)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, g := range []Gap{
		{Room: "r1", Start: t0.Add(time.Hour), End: t0.Add(time.Hour + time.Minute), Reason: GapDisconnect},
		{Room: "r1", Start: t0, End: t0.Add(time.Second), Reason: GapCrash},
		{Room: "r10", Start: t0, End: t0.Add(time.Second), Reason: GapStall},
	} {
		if err := c.AddGap(g); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddGap(Gap{Room: "r1", Start: t0, End: t0.Add(-time.Second)}); err == nil {
		t.Error("a gap ending before it starts was accepted")
	}
	got, err := c.Gaps("r1", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Reason != GapCrash || got[1].Reason != GapDisconnect {
		t.Fatalf("gaps %+v", got)
	}
	got, _ = c.Gaps("r1", t0.Add(time.Minute), time.Time{})
	if len(got) != 1 || got[0].Reason != GapDisconnect {
		t.Errorf("from filter: %+v", got)
	}
	if n, err := c.VerifyEvents(); err != nil || n != 3 {
		t.Errorf("custody trail: %d events, %v", n, err)
	}
}

func TestSessionsOpenStopAndLink(t *testing.T) {
	c := openTestCatalog(t)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s, err := c.StartSession(Session{Room: "r1", Case: "C-1", Subject: "S-9", Officers: []string{"012345"}, StartedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartSession(Session{Room: "r1", Case: "C-2", Subject: "S", Officers: []string{"1"}}); !errors.Is(err, ErrSessionOpen) {
		t.Errorf("second open session: %v, want ErrSessionOpen", err)
	}
	if open, ok, _ := c.OpenSession("r1"); !ok || open.ID != s.ID {
		t.Errorf("open session %+v %v", open, ok)
	}
	stopped, err := c.StopSession("r1", t0.Add(time.Hour), "admin1")
	if err != nil || stopped.EndedAt != t0.Add(time.Hour) {
		t.Fatalf("stop: %+v %v", stopped, err)
	}
	if _, err := c.StopSession("r1", time.Time{}, "admin1"); !errors.Is(err, ErrNoSession) {
		t.Errorf("stop without session: %v", err)
	}
	if _, err := c.StartSession(Session{Room: "r1", Case: "C-2", Subject: "S-2", Officers: []string{"222222"}, StartedAt: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
		cases    []string
	}{
		{"before", t0.Add(-time.Hour), t0, nil},
		{"inside first", t0.Add(time.Minute), t0.Add(2 * time.Minute), []string{"C-1"}},
		{"between", t0.Add(time.Hour), t0.Add(2 * time.Hour), nil},
		{"both", t0.Add(30 * time.Minute), t0.Add(3 * time.Hour), []string{"C-1", "C-2"}},
		{"open session", t0.Add(10 * time.Hour), t0.Add(11 * time.Hour), []string{"C-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Sessions("r1", tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			var cases []string
			for _, s := range got {
				cases = append(cases, s.Case)
			}
			if !reflect.DeepEqual(cases, tc.cases) {
				t.Errorf("cases %v, want %v", cases, tc.cases)
			}
			rec := Recording{StartedAt: tc.from, EndedAt: tc.to}
			LinkSessions(&rec, got, rec.EndedAt)
			if len(tc.cases) > 0 && (rec.Case != tc.cases[0] || !rec.Permanent() || rec.Holds[0].Reason != HoldEvidence || !rec.LegalHold || len(rec.Sessions) != len(tc.cases)) {
				t.Errorf("linked %+v", rec)
			}
			if len(tc.cases) == 2 && (len(rec.Cases) != 2 || len(rec.Holds) != 2 || len(rec.Officers) != 2) {
				t.Errorf("second case not kept: %+v", rec)
			}
		})
	}
}

// A session's segments, and only its, in start order: its whole recording.
func TestListSession(t *testing.T) {
	c := openTestCatalog(t)
	s1, err := c.StartSession(Session{Room: "r1", Case: "C-1", Subject: "S-1", Officers: []string{"111111"}, StartedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StopSession("r1", t0.Add(30*time.Minute), "wang.li"); err != nil {
		t.Fatal(err)
	}
	s2, err := c.StartSession(Session{Room: "r1", Case: "C-2", Subject: "S-2", Officers: []string{"222222"}, StartedAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	sessions, _ := c.Sessions("r1", t0.Add(-time.Hour), t0.Add(3*time.Hour))
	// Segments of 10 minutes, added newest first so order comes from the index.
	for i := 11; i >= 0; i-- {
		start := t0.Add(time.Duration(i) * 10 * time.Minute)
		r := Recording{Source: SourceRoom, SourceID: "r1", Name: fmt.Sprintf("seg%02d", i), SHA256: fmt.Sprintf("%064x", i+1),
			Size: 1, State: StateStaged, StartedAt: start, EndedAt: start.Add(10 * time.Minute)}
		LinkSessions(&r, sessions, r.EndedAt)
		if _, _, err := c.Add(r, Event{Type: EventIngested}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		id   uint64
		want []string
	}{
		{s1.ID, []string{"seg00", "seg01", "seg02"}},
		{s2.ID, []string{"seg06", "seg07", "seg08", "seg09", "seg10", "seg11"}},
	} {
		recs, err := c.List(Filter{Session: tc.id})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range recs {
			names = append(names, r.Name)
		}
		if !reflect.DeepEqual(names, tc.want) {
			t.Errorf("session %d: %v, want %v", tc.id, names, tc.want)
		}
	}
	if _, err := c.List(Filter{Session: 99}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
}
