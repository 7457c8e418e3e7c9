package main

import (
	"time"

	"custodian/admin"
	"custodian/retention"
)

// retentionAPI adapts the retention manager to what the admin API asks, so
// that admin depends on storage alone.
type retentionAPI struct{ *retention.Manager }

var _ admin.Retention = retentionAPI{}

func (r retentionAPI) Plan(at time.Time) (any, error)    { return r.PlanAt(at) }
func (r retentionAPI) Report(day time.Time) (any, error) { return r.ReportFor(day) }
