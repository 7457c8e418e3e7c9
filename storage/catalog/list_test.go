package catalog

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// pages lists f page by page, n at a time, and returns the ids of each.
func pages(t *testing.T, c *Catalog, f Filter, n int) [][]uint64 {
	t.Helper()
	var out [][]uint64
	f.Limit = n
	for range 50 {
		recs, next, err := c.ListPage(f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		out = append(out, idsOf(recs))
		if next == nil {
			return out
		}
		f.After = next
	}
	t.Fatalf("%+v: no end after 50 pages", f)
	return nil
}

// pagedCatalog holds ten verified recordings started a minute apart; the
// even ones are officer 2's on device D2, every third is flagged
// unregistered and 9 and 10 are archived.
func pagedCatalog(t *testing.T) *Catalog {
	t.Helper()
	c := openTestCatalog(t)
	var recs []Recording
	for i := 1; i <= 10; i++ {
		officer, device := "1", "D1"
		if i%2 == 0 {
			officer, device = "2", "D2"
		}
		r := rec(device, officer, fmt.Sprintf("f%02d", i), sha(byte('a'+i)), t0.Add(time.Duration(i)*time.Minute))
		if i%3 == 0 {
			r.Flags = []string{FlagUnregistered}
		}
		if i >= 9 {
			r.State = StateArchived
		}
		recs = append(recs, r)
	}
	if _, err := c.AddBatch(recs); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListPage(t *testing.T) {
	c := pagedCatalog(t)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	for _, tc := range []struct {
		name string
		f    Filter
		n    int
		want [][]uint64
	}{
		{"ids", Filter{}, 4, [][]uint64{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10}}},
		{"ids exact", Filter{}, 5, [][]uint64{{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}}},
		{"ids one page", Filter{}, 10, [][]uint64{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}},
		{"state", Filter{State: StateVerified}, 3, [][]uint64{{1, 2, 3}, {4, 5, 6}, {7, 8}}},
		{"state none", Filter{State: StateMissing}, 3, [][]uint64{nil}},
		{"officer", Filter{Officer: "2"}, 2, [][]uint64{{2, 4}, {6, 8}, {10}}},
		{"officer from to", Filter{Officer: "1", From: at(3), To: at(9)}, 2, [][]uint64{{3, 5}, {7}}},
		{"device", Filter{Device: "D1"}, 4, [][]uint64{{1, 3, 5, 7}, {9}}},
		{"time", Filter{From: at(2), To: at(8)}, 4, [][]uint64{{2, 3, 4, 5}, {6, 7}}},
		{"flag", Filter{Flag: FlagUnregistered}, 2, [][]uint64{{3, 6}, {9}}},
		{"flag one", Filter{Flag: FlagUnregistered}, 1, [][]uint64{{3}, {6}, {9}}},
		{"flag state", Filter{Flag: FlagUnregistered, State: StateVerified}, 1, [][]uint64{{3}, {6}}},
		{"flag officer", Filter{Flag: FlagUnregistered, Officer: "2"}, 1, [][]uint64{{6}}},
		{"flag none", Filter{Flag: FlagClockOffset}, 3, [][]uint64{nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pages(t, c, tc.f, tc.n); !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("pages %v, want %v", got, tc.want)
			}
			// List without a limit gives the same recordings in one.
			if got, want := listIDs(t, c, tc.f), slices.Concat(tc.want...); !slices.Equal(got, want) {
				t.Errorf("List %v, want %v", got, want)
			}
		})
	}
}

// A page resumes after its cursor's record even when that record has since
// left the listing, and records added behind the cursor come on later pages.
func TestListPageResumesAfterChanges(t *testing.T) {
	c := pagedCatalog(t)
	recs, next, err := c.ListPage(Filter{State: StateVerified, Limit: 3})
	if err != nil || !slices.Equal(idsOf(recs), []uint64{1, 2, 3}) {
		t.Fatalf("page 1: %v %v", idsOf(recs), err)
	}
	if _, err := c.Update(3, func(r *Recording) error { r.State = StateArchived; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Add(rec("D1", "1", "f11", sha('z'), t0)); err != nil {
		t.Fatal(err)
	}
	if got := pages(t, c, Filter{State: StateVerified, After: next}, 3); !slices.EqualFunc(got, [][]uint64{{4, 5, 6}, {7, 8, 11}}, slices.Equal) {
		t.Fatalf("after changes: %v", got)
	}
}

// A cursor resumes only the kind of listing it came from.
func TestListPageBadCursor(t *testing.T) {
	c := pagedCatalog(t)
	_, officer, err := c.ListPage(Filter{Officer: "2", Limit: 1})
	if err != nil || officer == nil {
		t.Fatalf("officer page: %v %v", officer, err)
	}
	_, ids, err := c.ListPage(Filter{Limit: 1})
	if err != nil || ids == nil {
		t.Fatalf("id page: %v %v", ids, err)
	}
	for _, tc := range []struct {
		name string
		f    Filter
	}{
		{"officer cursor on ids", Filter{After: officer}},
		{"officer cursor on another officer", Filter{Officer: "1", After: officer}},
		{"officer cursor on a device", Filter{Device: "2", After: officer}},
		{"id cursor on a state", Filter{State: StateVerified, After: ids}},
		{"short", Filter{After: Cursor{'i', 0}}},
		{"empty", Filter{After: Cursor{}}},
	} {
		if _, _, err := c.ListPage(tc.f); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: %v, want ErrBadCursor", tc.name, err)
		}
	}
}

func TestValidFlag(t *testing.T) {
	for _, f := range Flags {
		if !ValidFlag(f) {
			t.Errorf("%s is not valid", f)
		}
	}
	if ValidFlag("important") || ValidFlag("") || !slices.Contains(Flags, FlagUnregistered) {
		t.Fatal("flags")
	}
}
