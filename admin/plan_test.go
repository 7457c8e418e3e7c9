package admin

import (
	"context"
	"net/http/httptest"
	"testing"

	"custodian/admin/api"
)

// writeAsPlan writes p through a planWriter, an action at a time.
func writeAsPlan(ctx context.Context, w *httptest.ResponseRecorder, p api.Plan) error {
	out := &planWriter{ctx: ctx, w: w}
	for _, a := range p.Actions {
		if err := out.action(a); err != nil {
			return err
		}
	}
	out.finish(p)
	return nil
}

// A plan is written an action at a time, byte for byte as writeJSON
// writes it, and not at all once its client has left.
func TestPlanWriterAsWriteJSON(t *testing.T) {
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
		if err := writeAsPlan(context.Background(), got, p); err != nil {
			t.Fatal(err)
		}
		if got.Body.String() != want.Body.String() {
			t.Fatalf("plan of %d actions:\n%s\nwant\n%s", len(p.Actions), got.Body, want.Body)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	if err := writeAsPlan(ctx, rec, api.Plan{Actions: acts}); err == nil || rec.Body.Len() != 0 {
		t.Fatalf("wrote %d bytes for a client that left (%v)", rec.Body.Len(), err)
	}
}
