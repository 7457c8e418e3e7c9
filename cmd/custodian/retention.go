package main

import (
	"context"
	"time"

	"custodian/admin"
	"custodian/admin/api"
	"custodian/retention"
	"custodian/storage/catalog"
	"custodian/storage/upload"
)

// retentionAPI adapts the retention manager to what the admin API asks, so
// that admin depends on storage alone.
type retentionAPI struct {
	*retention.Manager
	cat     *catalog.Catalog
	store   upload.Lister // nil in local-only mode
	station string
}

var _ admin.Retention = retentionAPI{}

// NeedsApproval reports whether releasing reason takes two supervisors.
func (retentionAPI) NeedsApproval(reason string) bool { return retention.NeedsApproval(reason) }

func (r retentionAPI) Plan(ctx context.Context, at time.Time, emit func(api.Action) error) (api.Plan, error) {
	res, err := r.PlanEach(ctx, at, func(a retention.Action) error { return emit(apiAction(a)) })
	return apiPlan(res), err
}

func (r retentionAPI) Report(ctx context.Context, day time.Time) (api.Report, error) {
	rep, err := r.ReportFor(ctx, day)
	return apiReport(rep), err
}

// VerifyTrail checks the chain in the catalog and the archived chunks.
func (r retentionAPI) VerifyTrail(ctx context.Context) (int, error) {
	return upload.VerifyAudit(ctx, r.cat, r.store, r.station)
}

func apiPlan(res retention.Result) api.Plan {
	return api.Plan{Actions: api.List(res.Actions, apiAction), Short: res.Short, Warnings: res.Warnings}
}

func apiAction(a retention.Action) api.Action {
	return api.Action{Kind: string(a.Kind), ID: a.ID, SHA256: a.SHA256, Size: a.Size, Reason: a.Reason}
}

func apiReport(rep retention.Report) api.Report {
	row := func(r retention.ReportRow) api.ReportRow { return api.ReportRow(r) }
	return api.Report{
		Day: rep.Day, Officers: api.List(rep.Officers, row), Devices: api.List(rep.Devices, row), Rooms: api.List(rep.Rooms, row),
		Held: rep.Held, Expired: rep.Expired, Trouble: rep.Trouble, EnteringGrace: api.List(rep.EnteringGrace, apiAction),
		ClockOffsets: api.List(rep.ClockOffsets, func(c retention.ClockRow) api.ClockRow { return api.ClockRow(c) }),
		NotDocked:    api.NotDocked(rep.NotDocked),
	}
}
