package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The CLI's time limit is per pause, not per answer: a long answer that
// keeps coming is read to its end, one that stops coming fails, saying so.
func TestClientTimeoutIsPerPause(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"actions": [`))
		pause := 30 * time.Millisecond
		if r.URL.Path == "/stalls" {
			pause = 400 * time.Millisecond
		}
		for i := range 12 { // 360 ms in all when it flows
			if i > 0 {
				w.Write([]byte(","))
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(pause):
			case <-r.Context().Done():
				return
			}
			w.Write([]byte(`{"kind": "evict"}`))
		}
		w.Write([]byte("]}\n"))
	}))
	defer ts.Close()
	c := &apiClient{base: ts.URL, http: &http.Client{Timeout: 150 * time.Millisecond}}
	var plan struct{ Actions []struct{ Kind string } }
	if err := c.get(context.Background(), "/flows", nil, &plan); err != nil || len(plan.Actions) != 12 {
		t.Fatalf("an answer that keeps coming: %d actions, %v", len(plan.Actions), err)
	}
	err := c.get(context.Background(), "/stalls", nil, &plan)
	if !errors.Is(err, errIdle) || !strings.Contains(err.Error(), "no answer for 150ms") {
		t.Fatalf("an answer that stops: %v", err)
	}
}
