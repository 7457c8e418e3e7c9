package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// finish writes index.html, then the manifest, its hash and SHA256SUMS.
func (x *Exporter) finish(m *Manifest, w *writer) error {
	page, err := renderIndex(*m)
	if err != nil {
		return err
	}
	if err := w.putBytes(IndexName, page); err != nil {
		return err
	}
	all := maps.Clone(m.Files)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	mb = append(mb, '\n')
	w.sums = all // the manifest lists neither itself nor what follows it
	if err := w.putBytes(ManifestName, mb); err != nil {
		return err
	}
	if err := w.putBytes(ManifestSumName, FormatSums(map[string]string{ManifestName: all[ManifestName]})); err != nil {
		return err
	}
	return w.putBytes(SumsName, FormatSums(all))
}

// FormatSums writes sums in the format sha256sum -c reads: one line a
// file, "<hex>  <name>", in name order.
func FormatSums(sums map[string]string) []byte {
	var b bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(sums)) {
		fmt.Fprintf(&b, "%s  %s\n", sums[name], name)
	}
	return b.Bytes()
}
