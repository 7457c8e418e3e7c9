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
