package archive

import (
	"context"
	"io"
)

// paced is r with pace called for the bytes of every read before they are
// handed on; r itself when pace is nil.
func paced(ctx context.Context, r io.Reader, pace func(context.Context, int) error) io.Reader {
	if pace == nil {
		return r
	}
	return &pacedReader{ctx: ctx, r: r, pace: pace}
}

type pacedReader struct {
	ctx  context.Context
	r    io.Reader
	pace func(context.Context, int) error
}

func (p *pacedReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		if perr := p.pace(p.ctx, n); perr != nil {
			return 0, perr
		}
	}
	return n, err
}
