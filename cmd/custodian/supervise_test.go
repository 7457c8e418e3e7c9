package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A failing room degrades only itself: the dock keeps running, the failure
// is listed and counted, the room is tried again with a growing pause, and
// once it runs steadily the failure clears.
func TestSupervisorDegradesOnePart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSupervisor(slog.New(slog.DiscardHandler), prometheus.NewRegistry())
		var mu sync.Mutex
		tries, dockRuns := 0, 0
		room := part{name: "room r1", kind: "room", run: func(ctx context.Context) error {
			mu.Lock()
			tries++
			n := tries
			mu.Unlock()
			if n <= 3 {
				return errors.New("mkdir open: permission denied")
			}
			<-ctx.Done()
			return nil
		}}
		dock := part{name: "dock dock-a", kind: "dock", run: func(ctx context.Context) error {
			mu.Lock()
			dockRuns++
			mu.Unlock()
			<-ctx.Done()
			return nil
		}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- s.run(ctx, []part{dock}, []part{room}) }()

		time.Sleep(2 * time.Second) // failed at 0 and 1 s, next try at 3 s
		synctest.Wait()
		f := s.Failures()
		if len(f) != 1 || f[0].Name != "room r1" || !strings.Contains(f[0].Error, "permission denied") || f[0].Restarts != 1 {
			t.Fatalf("failures %+v", f)
		}
		if got := testutil.ToFloat64(s.down.WithLabelValues("room")); got != 1 {
			t.Fatalf("custodian_component_down{component=room} = %v", got)
		}
		time.Sleep(5*time.Second + steadyAfter) // third failure at 3 s, runs from 7 s
		synctest.Wait()
		if f := s.Failures(); len(f) != 0 {
			t.Fatalf("still failed after running steadily: %+v", f)
		}
		if got := testutil.ToFloat64(s.fail.WithLabelValues("room")); got != 3 {
			t.Fatalf("custodian_component_failures_total{component=room} = %v, want 3", got)
		}
		if got := testutil.ToFloat64(s.down.WithLabelValues("room")); got != 0 {
			t.Fatalf("custodian_component_down{component=room} = %v after recovery", got)
		}
		mu.Lock()
		if dockRuns != 1 {
			t.Errorf("dock started %d times; a room's failure must not touch it", dockRuns)
		}
		mu.Unlock()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// Shutdown runs in reverse order of start, each tier stopped before the
// next is told: intake first, the admin surface last. A vital part's
// failure stops the daemon the same way and is its error.
func TestSupervisorStopsInReverseOrder(t *testing.T) {
	for _, vitalFails := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			s := newSupervisor(slog.New(slog.DiscardHandler), nil)
			var mu sync.Mutex
			var stopped []string
			p := func(name string, vital bool, fail <-chan struct{}) part {
				return part{name: name, kind: name, vital: vital, run: func(ctx context.Context) error {
					select {
					case <-ctx.Done():
					case <-fail:
						return errors.New("listener closed")
					}
					time.Sleep(time.Second) // a stop that takes time: the next tier must wait
					mu.Lock()
					stopped = append(stopped, name)
					mu.Unlock()
					return nil
				}}
			}
			fail := make(chan struct{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error)
			go func() {
				done <- s.run(ctx, []part{p("admin", true, fail)}, []part{p("uploader", false, nil)}, []part{p("dock", false, nil), p("room", false, nil)})
			}()
			time.Sleep(time.Minute)
			if vitalFails {
				close(fail)
			} else {
				cancel()
			}
			err := <-done
			if vitalFails != (err != nil) {
				t.Fatalf("vital failure %v, error %v", vitalFails, err)
			}
			want := [][]string{{"dock", "room", "uploader", "admin"}, {"room", "dock", "uploader", "admin"}}
			if vitalFails {
				// The failed admin returns at once; intake still stops first.
				want = [][]string{{"dock", "room", "uploader"}, {"room", "dock", "uploader"}}
			}
			if !slices.ContainsFunc(want, func(w []string) bool { return slices.Equal(w, stopped) }) {
				t.Fatalf("stop order %v, want %v", stopped, want[0])
			}
		})
	}
}
