package catalog

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// heldRecording adds a recording held as evidence for case A-1.
func heldRecording(t *testing.T, c *Catalog) Recording {
	t.Helper()
	r := rec("J0123456", "012345", "a.MP4", sha('a'), t0)
	r.Holds = []Hold{{Reason: "evidence", By: "li.na", At: t0, Why: "case", Case: "A-1"}}
	r, _, err := c.Add(r, Event{Type: EventIngested})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// findHold is a check of AddRequest: the evidence hold's time.
func findHold(r Recording) (time.Time, error) {
	for _, h := range r.Holds {
		if h.Reason == "evidence" {
			return h.At, nil
		}
	}
	return time.Time{}, errors.New("not held")
}

// dropHold is an Apply: remove the hold the request names, if still there.
func dropHold(r *Recording, q Request, tg Target) ([]Event, error) {
	i := slices.IndexFunc(r.Holds, func(h Hold) bool { return h.Reason == q.Reason && h.At.Equal(tg.Since) })
	if i < 0 {
		return nil, errors.New("hold gone")
	}
	r.Holds = slices.Delete(r.Holds, i, i+1)
	return []Event{{Type: EventUnheld, Actor: "x", Detail: "reason " + q.Reason}}, nil
}

func releaseRequest(t *testing.T, c *Catalog, id uint64) Request {
	t.Helper()
	q, err := c.AddRequest(Request{Kind: RequestRelease, Targets: []Target{{Recording: id}}, Reason: "evidence",
		By: "wang.li", Why: "case closed", At: t0, Expires: t0.Add(72 * time.Hour)}, findHold)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestRequestApprovedByAnother(t *testing.T) {
	c := openTestCatalog(t)
	r := heldRecording(t, c)
	q := releaseRequest(t, c, r.ID)
	if q.ID != 1 || q.State != RequestPending || !q.Targets[0].Since.Equal(t0) {
		t.Fatalf("request: %+v", q)
	}
	open, err := c.OpenRequests()
	if err != nil || len(open) != 1 {
		t.Fatalf("open: %v %v", open, err)
	}
	at := t0.Add(time.Hour)
	if _, _, err := c.Decide(q.ID, Decision{By: "wang.li", Why: "mine", At: at, Approve: true}, dropHold); !errors.Is(err, ErrSelfApproval) {
		t.Fatalf("self approval: %v", err)
	}
	got, recs, err := c.Decide(q.ID, Decision{By: "sun.yu", Why: "agreed", At: at, Approve: true}, dropHold)
	if err != nil || got.State != RequestApproved || got.DecidedBy != "sun.yu" || len(recs) != 1 || recs[0].Permanent() {
		t.Fatalf("approve: %+v %+v %v", got, recs, err)
	}
	if _, _, err := c.Decide(q.ID, Decision{By: "zhou.ke", At: at, Approve: true}, dropHold); !errors.Is(err, ErrNotPending) {
		t.Fatalf("second approval: %v", err)
	}
	if open, _ := c.OpenRequests(); len(open) != 0 {
		t.Fatalf("still open: %v", open)
	}
	evs, _ := c.RecentEvents(3)
	var trail []string
	for _, e := range evs {
		trail = append(trail, e.Type+" "+e.Actor)
	}
	if want := []string{"unheld x", "approved sun.yu", "requested wang.li"}; !slices.Equal(trail, want) {
		t.Fatalf("trail %v, want %v", trail, want)
	}
	if !strings.Contains(evs[1].Detail, "asked by wang.li") {
		t.Fatalf("approval does not name the requester: %q", evs[1].Detail)
	}
	if _, err := c.VerifyEvents(); err != nil {
		t.Fatal(err)
	}
}

func TestRequestRefusals(t *testing.T) {
	c := openTestCatalog(t)
	r := heldRecording(t, c)
	expired := releaseRequest(t, c, r.ID)
	late := Decision{By: "sun.yu", At: expired.Expires, Approve: true}
	if _, _, err := c.Decide(expired.ID, late, dropHold); !errors.Is(err, ErrRequestExpired) {
		t.Fatalf("approval at the expiry: %v", err)
	}
	if got, _ := c.Request(expired.ID); got.StateAt(late.At) != RequestExpired {
		t.Fatalf("state at expiry: %s", got.StateAt(late.At))
	}
	// A second request for the same hold: the first approval takes the
	// hold, the second finds it gone and stays pending.
	first, second := releaseRequest(t, c, r.ID), releaseRequest(t, c, r.ID)
	if _, _, err := c.Decide(first.ID, Decision{By: "zhou.ke", At: t0, Approve: true}, dropHold); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Decide(second.ID, Decision{By: "zhou.ke", At: t0, Approve: true}, dropHold); err == nil || !strings.Contains(err.Error(), "hold gone") {
		t.Fatalf("approval of a hold already released: %v", err)
	}
	if got, _ := c.Request(second.ID); got.State != RequestPending {
		t.Fatalf("stale request: %s", got.State)
	}
}

func TestRequestNeedsItsHold(t *testing.T) {
	c := openTestCatalog(t)
	r, _, err := c.Add(rec("J0123456", "012345", "a.MP4", sha('a'), t0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AddRequest(Request{Kind: RequestRelease, Targets: []Target{{Recording: r.ID}}, Reason: "evidence",
		By: "wang.li", Why: "w", At: t0, Expires: t0.Add(time.Hour)}, findHold)
	if err == nil || !strings.Contains(err.Error(), "not held") {
		t.Fatalf("request for a hold that is not there: %v", err)
	}
	if open, _ := c.OpenRequests(); len(open) != 0 {
		t.Fatalf("a refused request was stored: %v", open)
	}
}

// A hold that went between the request and its approval fails the
// approval as a whole: nothing is stored and the request stays pending.
func TestRequestApplyFailureStoresNothing(t *testing.T) {
	c := openTestCatalog(t)
	r := heldRecording(t, c)
	q := releaseRequest(t, c, r.ID)
	gone := func(*Recording, Request, Target) ([]Event, error) { return nil, errors.New("hold gone") }
	if _, _, err := c.Decide(q.ID, Decision{By: "sun.yu", At: t0, Approve: true}, gone); err == nil {
		t.Fatal("approval applied nothing yet succeeded")
	}
	got, _ := c.Request(q.ID)
	after, _ := c.Get(r.ID)
	if got.State != RequestPending || !after.Permanent() {
		t.Fatalf("after a failed approval: request %s, holds %v", got.State, after.Holds)
	}
}

func TestRequestRejectAndCancel(t *testing.T) {
	c := openTestCatalog(t)
	r := heldRecording(t, c)
	a, b := releaseRequest(t, c, r.ID), releaseRequest(t, c, r.ID)
	got, _, err := c.Decide(a.ID, Decision{By: "wang.li", Why: "asked by mistake", At: t0}, dropHold)
	if err != nil || got.State != RequestCancelled {
		t.Fatalf("withdraw: %+v %v", got, err)
	}
	got, _, err = c.Decide(b.ID, Decision{By: "sun.yu", Why: "no", At: t0.Add(100 * time.Hour)}, dropHold)
	if err != nil || got.State != RequestRejected {
		t.Fatalf("reject: %+v %v", got, err)
	}
	if after, _ := c.Get(r.ID); !after.Permanent() {
		t.Fatal("a rejection released the hold")
	}
}

func TestApprovedExportIsUsedOnce(t *testing.T) {
	c := openTestCatalog(t)
	if _, _, ok, err := c.ApprovedExport("A-1", "li.na"); ok || err != nil {
		t.Fatalf("export with no approval: %v %v", ok, err)
	}
	q, err := c.AddRequest(Request{Kind: RequestExport, Case: "A-1", By: "wang.li", Why: "court", At: t0, Expires: t0.Add(time.Hour)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := c.ApprovedExport("A-1", "li.na"); ok {
		t.Fatal("a pending export counted as approved")
	}
	if _, _, err := c.Decide(q.ID, Decision{By: "sun.yu", At: t0, Approve: true}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := c.ApprovedExport("A-10", "li.na"); ok {
		t.Fatal("case A-10 used the approval of A-1")
	}
	id, approver, ok, err := c.ApprovedExport("A-1", "li.na")
	if err != nil || !ok || id != q.ID || approver != "sun.yu" {
		t.Fatalf("approved export: %d %q %v %v", id, approver, ok, err)
	}
	if _, _, ok, _ := c.ApprovedExport("A-1", "li.na"); ok {
		t.Fatal("one approval allowed two exports")
	}
	got, _ := c.Request(q.ID)
	if got.State != RequestUsed || got.UsedBy != "li.na" {
		t.Fatalf("used request: %+v", got)
	}
}

func TestUpgradeFromSchema2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custodian.db")
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = c.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRequests, bucketIdxReqOpen, bucketIdxExport} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte(schema2))
	})
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Read-only, schema 2 is read as it is: no request is open.
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of schema 2: %v", err)
	}
	if open, err := ro.OpenRequests(); err != nil || len(open) != 0 {
		t.Fatalf("requests of a schema 2 catalog: %v %v", open, err)
	}
	ro.Close()
	c, err = Open(path, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.AddRequest(Request{Kind: RequestExport, Case: "A-1", By: "a", Why: "w", At: t0, Expires: t0.Add(time.Hour)}, nil); err != nil {
		t.Fatalf("request after the upgrade: %v", err)
	}
}
