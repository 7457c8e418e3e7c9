package export

import (
	"bytes"
	"html/template"
	"time"
)

// index is the human-readable page of an export: self-contained (no
// script, no external style or font), every value escaped by html/template.
var index = template.Must(template.New("index").Funcs(template.FuncMap{
	"t": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	},
	"offset": func(ns int64) string {
		if ns == 0 {
			return "-"
		}
		return time.Duration(ns).String()
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Case {{.Case}}: evidence export</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .4em;vertical-align:top;font-size:90%}code{word-break:break-all}</style>
</head><body>
<h1>Case {{.Case}}: evidence export</h1>
<p>Station {{.Station}}. Exported {{t .ExportedAt}} by {{.ExportedBy}}{{if .Why}}, because: {{.Why}}{{end}}. Format {{.Schema}}.</p>
<h2>Recordings</h2>
<table><tr><th>File</th><th>SHA-256</th><th>Bytes</th><th>Officer</th><th>Device / source</th><th>Started (station)</th><th>Camera time</th><th>Received</th><th>Clock offset</th><th>Archive</th><th>Lock</th><th>Holds</th><th>Interview</th><th>Custody events</th></tr>
{{range .Recordings}}<tr><td><a href="{{.File}}">{{.File}}</a><br>{{.Name}}</td><td><code>{{.SHA256}}</code></td><td>{{.Size}}</td>
<td>{{.Officer}}{{range .Officers}} {{.}}{{end}}</td><td>{{.Device}}<br>{{.Source}} {{.SourceID}}</td><td>{{t .StartedAt}}{{if not .EndedAt.IsZero}} to {{t .EndedAt}}{{end}}</td>
<td>{{t .CameraTime}}</td><td>{{t .ReceivedAt}}</td><td>{{offset .ClockOffsetNS}} {{.ClockBasis}}</td>
<td>{{.ArchiveKey}}<br>version {{.ArchiveVersion}}<br>from {{.FetchedFrom}}</td><td>{{.LockMode}} {{t .LockUntil}}{{if .LegalHold}}<br>legal hold{{end}}</td>
<td>{{range .Holds}}{{.Reason}} by {{.By}} {{t .At}}: {{.Why}}<br>{{end}}</td><td>{{.Case}} {{.Subject}}{{range .Sessions}} session {{.}}{{end}}</td><td>{{range .Events}}{{.}} {{end}}</td></tr>
{{end}}</table>
<h2>Custody trail</h2>
<p>The recordings' events are in {{.Trail.Events}}; each names the hash of the event before it. These segments of the station's whole trail hold them:</p>
<table><tr><th>File</th><th>Events</th><th>SHA-256</th><th>Archived as</th></tr>
{{range .Trail.Segments}}<tr><td>{{.File}}</td><td>{{.First}} to {{.Last}}</td><td><code>{{.SHA256}}</code></td><td>{{if .ArchiveKey}}{{.ArchiveKey}} version {{.ArchiveVersion}}{{else}}not yet archived{{end}}</td></tr>
{{end}}</table>
<h2>How to check this export</h2>
<p>In this folder: <code>sha256sum -c SHA256SUMS</code> checks every file's hash.
<code>custodian export verify .</code> checks the hashes, the manifest against the custody events, the links of the events' hash chain and the archived segments, offline.</p>
</body></html>
`))

func renderIndex(m Manifest) ([]byte, error) {
	var b bytes.Buffer
	err := index.Execute(&b, m)
	return b.Bytes(), err
}
