package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"strconv"

	"custodian/admin"
	"custodian/admin/api"
	"custodian/internal/config"
	"custodian/storage/catalog"
)

// pageSize is how many recordings one request or read asks for. A listing
// goes page by page, each request with its own timeout, so one of any
// length finishes and is printed as it comes.
const pageSize = 1000

// eachRecording calls page with the recordings that match, a page at a
// time, in listing order, up to limit (0: all); more says that others
// matched past limit. It asks the running daemon (q holds the filter as
// query parameters), or reads the catalog itself, read-only, when none
// answers (f is the same filter).
func eachRecording(ctx context.Context, cfg *config.Config, q url.Values, f catalog.Filter, limit int,
	page func([]api.Recording) error) (more bool, err error) {
	c, err := newClient(cfg)
	if err != nil {
		return false, err
	}
	started := false
	more, err = eachRemote(ctx, c, q, limit, func(recs []api.Recording) error {
		started = true
		return page(recs)
	})
	if started || !isNotListening(err) {
		return more, err
	}
	return eachLocal(ctx, cfg, f, limit, page)
}

// eachRemote pages through GET /api/v1/recordings by its next cursor.
func eachRemote(ctx context.Context, c *apiClient, q url.Values, limit int, page func([]api.Recording) error) (bool, error) {
	q = maps.Clone(q)
	for n := 0; ; {
		q.Set("limit", strconv.Itoa(pageLimit(limit, n)))
		var resp api.RecordingsResponse
		if err := c.get(ctx, "/api/v1/recordings", q, &resp); err != nil {
			if n > 0 {
				return false, fmt.Errorf("list recordings, after %d: %w", n, err)
			}
			return false, err
		}
		n += len(resp.Recordings)
		if err := page(resp.Recordings); err != nil {
			return false, err
		}
		switch {
		case resp.Next == "":
			return resp.Truncated, nil // a daemon from before cursors says truncated alone
		case limit > 0 && n >= limit:
			return true, nil
		case len(resp.Recordings) == 0:
			return false, errors.New("list recordings: the daemon sent an empty page with a cursor")
		}
		q.Set("cursor", resp.Next)
	}
}

// eachLocal pages through the catalog by its cursor, one read transaction
// a page.
func eachLocal(ctx context.Context, cfg *config.Config, f catalog.Filter, limit int, page func([]api.Recording) error) (bool, error) {
	cat, err := openCatalogReadOnly(cfg)
	if err != nil {
		return false, err
	}
	defer cat.Close()
	for n := 0; ; {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		f.Limit = pageLimit(limit, n)
		recs, next, err := cat.ListPage(f)
		if err != nil {
			return false, err
		}
		n += len(recs)
		if err := page(api.List(recs, admin.APIRecording)); err != nil {
			return false, err
		}
		if next == nil {
			return false, nil
		}
		if limit > 0 && n >= limit {
			return true, nil
		}
		f.After = next
	}
}

// pageLimit is the size of the next page once n of limit (0: no limit)
// have come.
func pageLimit(limit, n int) int {
	if limit > 0 {
		return min(pageSize, limit-n)
	}
	return pageSize
}

// openCatalogReadOnly opens the catalog beside a daemon that does not answer.
func openCatalogReadOnly(cfg *config.Config) (*catalog.Catalog, error) {
	cat, err := catalog.Open(filepath.Join(cfg.DataDir, "custodian.db"), catalog.Options{ReadOnly: true})
	if errors.Is(err, catalog.ErrLocked) {
		return nil, fmt.Errorf("%w, but its admin API at %s does not answer", err, cfg.Admin.Listen)
	}
	return cat, err
}
