package admin

import (
	"context"
	"net/http/httptest"
	"testing"

	"custodian/admin/api"
)

// A plan is written an action at a time, byte for byte as writeJSON
// writes it, and not at all once its client has left.
func TestWritePlanAsWriteJSON(t *testing.T) {
	acts := make([]api.Action, 3000)
	for i := range acts {
		acts[i] = api.Action{Kind: "evict", ID: uint64(i), SHA256: "ab<&>", Size: 7, Reason: "local_keep"}
	}
	for _, p := range []api.Plan{
		{Actions: []api.Action{}},
		{Actions: acts[:1]},
		{Actions: acts, Short: 5, Warnings: []string{"clock", "<b>"}},
		{Actions: []api.Action{}, Warnings: []string{"w"}},
	} {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		writeJSON(want, 200, p)
		writePlan(context.Background(), got, p)
		if got.Body.String() != want.Body.String() {
			t.Fatalf("plan of %d actions:\n%s\nwant\n%s", len(p.Actions), got.Body, want.Body)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	writePlan(ctx, rec, api.Plan{Actions: acts})
	if rec.Body.Len() != 0 {
		t.Fatalf("wrote %d bytes for a client that left", rec.Body.Len())
	}
}
