package main

import (
	"context"
	"time"

	"custodian/admin"
	"custodian/retention"
	"custodian/storage/archive"
	"custodian/storage/catalog"
	"custodian/storage/upload"
)

// retentionAPI adapts the retention manager to what the admin API asks, so
// that admin depends on storage alone.
type retentionAPI struct {
	*retention.Manager
	cat   *catalog.Catalog
	store archive.ObjectStore // nil in local-only mode
}

var _ admin.Retention = retentionAPI{}

func (r retentionAPI) Plan(at time.Time) (any, error)    { return r.PlanAt(at) }
func (r retentionAPI) Report(day time.Time) (any, error) { return r.ReportFor(day) }

// VerifyTrail checks the chain in the catalog and the archived chunks.
func (r retentionAPI) VerifyTrail(ctx context.Context) (int, error) {
	return upload.VerifyAudit(ctx, r.cat, r.store)
}
