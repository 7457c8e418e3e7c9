package admin

import (
	"context"
	"fmt"
)

// Principal is an authenticated caller as the export gate sees it.
type Principal struct {
	Name string
	Role Role
}

// ExportGate decides whether who may export a case's recordings, and why;
// an error refuses the export (403, its message to the caller) before
// anything is recorded or read. Config.ExportGate sets it; nil is
// RequireSupervisor. A two-person approval (a request of kind export,
// approved by a second supervisor) plugs in here.
type ExportGate func(ctx context.Context, who Principal, caseID, why string) error

// RequireSupervisor is the default ExportGate: a supervisor may export.
func RequireSupervisor(_ context.Context, who Principal, caseID, _ string) error {
	if who.Role < RoleSupervisor {
		return fmt.Errorf("exporting case %s needs the %s role; %s is %s", caseID, RoleSupervisor, who.Name, who.Role)
	}
	return nil
}

// Approvals is where an approved export of a case is found and used up.
type Approvals interface {
	ApprovedExport(caseNo, by string) (requestID uint64, approver string, ok bool, err error)
}

// TwoPersonExport is the station's ExportGate: a supervisor who holds an
// export of the case that a second supervisor approved (`custodian request
// export`, then `request approve`). Each approval allows one export and is
// used up here, in the catalog's transaction, before anything is read.
func TwoPersonExport(a Approvals) ExportGate {
	return func(ctx context.Context, who Principal, caseID, why string) error {
		if err := RequireSupervisor(ctx, who, caseID, why); err != nil {
			return err
		}
		_, _, ok, err := a.ApprovedExport(caseID, who.Name)
		if err != nil {
			return fmt.Errorf("exporting case %s: %w", caseID, err)
		}
		if !ok {
			return fmt.Errorf("exporting case %s needs a second supervisor's approval: custodian request export --case %s --why TEXT, then another supervisor approves it", caseID, caseID)
		}
		return nil
	}
}
