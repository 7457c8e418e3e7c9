package room

// Recorders that keep H.264/H.265 parameter sets out of band (in the SDP,
// as ffmpeg does) send keyframes the segmenter cannot start on: it reads
// the SPS in band. paramSets puts the latest parameter sets, from the SDP
// or from the stream itself, before every keyframe that lacks them, as a
// camera that repeats them does.
type paramSets struct {
	h265 bool
	sets [][]byte // H.264: SPS, PPS; H.265: VPS, SPS, PPS
}

func newParamSets(h265 bool, sets ...[]byte) *paramSets {
	p := &paramSets{h265: h265, sets: make([][]byte, len(sets))}
	for i, s := range sets {
		p.sets[i] = clone(s)
	}
	return p
}

// index is where a NAL unit's type is kept in sets, or -1; key reports a
// random-access picture (H.264 IDR, H.265 IRAP).
func (p *paramSets) index(nalu []byte) (i int, key bool) {
	if len(nalu) == 0 {
		return -1, false
	}
	if p.h265 {
		switch t := nalu[0] >> 1 & 0x3f; {
		case t >= 32 && t <= 34: // VPS, SPS, PPS
			return int(t - 32), false
		case t >= 16 && t <= 21:
			return -1, true
		}
		return -1, false
	}
	switch nalu[0] & 0x1f {
	case 7: // SPS
		return 0, false
	case 8: // PPS
		return 1, false
	case 5: // IDR
		return -1, true
	}
	return -1, false
}

// fill notes the parameter sets au carries and returns au with the missing
// ones put before its keyframe.
func (p *paramSets) fill(au [][]byte) [][]byte {
	has := make([]bool, len(p.sets))
	key := false
	for _, n := range au {
		i, k := p.index(n)
		key = key || k
		if i >= 0 {
			has[i] = true
			p.sets[i] = clone(n)
		}
	}
	if !key {
		return au
	}
	var missing [][]byte
	for i, s := range p.sets {
		if !has[i] && len(s) > 0 {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return au
	}
	return append(missing, au...)
}
