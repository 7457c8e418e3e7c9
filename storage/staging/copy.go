package staging

import (
	"context"
	"fmt"
	"hash"
	"io"
	"os"
)

// copier copies a source through its hash into a staging file. n counts the
// bytes both in the file and in the hash: a write that fails part way may
// leave more in the file, never fewer.
type copier struct {
	f   *os.File
	h   hash.Hash
	res *reservation
	n   int64
}

// run copies src until EOF. When every > 0, checkpoint runs each time
// another every bytes have been copied.
func (c *copier) run(ctx context.Context, src io.Reader, buf []byte, every int64, checkpoint func() error) error {
	r := ctxReader{ctx, src}
	next := c.n + every
	for {
		m, rerr := r.Read(buf)
		if m > 0 {
			if _, err := c.f.Write(buf[:m]); err != nil {
				return fmt.Errorf("stage: copy: %w", err)
			}
			c.h.Write(buf[:m])
			c.n += int64(m)
			c.res.wrote(int64(m))
		}
		if every > 0 && c.n >= next {
			if err := checkpoint(); err != nil {
				return err
			}
			next = c.n + every
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			return fmt.Errorf("stage: copy: %w", rerr)
		}
	}
}

// ReadError wraps a failure to read the source of a copy (a camera unplugged,
// an I/O error on its card), as opposed to a failure to write staging.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "read source: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// ctxReader stops a copy between reads when ctx is done and marks source
// errors as ReadError.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = &ReadError{Err: err}
	}
	return n, err
}
