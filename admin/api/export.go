package api

// ExportRequest asks for a case's court export
// (POST /api/v1/cases/{case}/export); the answer is the export as a tar
// stream (application/x-tar).
type ExportRequest struct {
	Why string `json:"why"`
}
