package staging

import "fmt"

// reservation is the space one copy in flight still needs: its size less
// what it has written. statfs already counts written bytes as used, so the
// reservation shrinks as they land, or they would count twice and refuse
// copies that fit.
type reservation struct {
	s    *Staging
	left int64 // only the copy's goroutine touches it; s.mu guards the sum
}

// reserve holds n bytes of free space for one copy, or refuses with ErrFull
// when free space less what other copies in flight still need is short of
// n. It refuses up front rather than fill the disk and delete the attempt
// again on every retry; ENOSPC during the write stays the backstop, and
// the only check for a copy of unknown size (n < 0).
func (s *Staging) reserve(n int64) (*reservation, error) {
	if n <= 0 {
		return &reservation{s: s}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The lookup is inside the lock: two copies must not both be granted
	// the same free space.
	free, err := s.free()
	if err == nil && free-s.reserved < n {
		return nil, fmt.Errorf("stage %d bytes: %d free, %d reserved by copies in flight: %w",
			n, free, s.reserved, ErrFull)
	}
	// A failed lookup lets the copy try: the write finds out for certain.
	s.reserved += n
	return &reservation{s: s, left: n}, nil
}

// wrote gives back the reservation of n bytes that are now on disk.
func (r *reservation) wrote(n int64) {
	n = min(n, r.left)
	if n <= 0 {
		return
	}
	r.left -= n
	r.s.mu.Lock()
	r.s.reserved -= n
	r.s.mu.Unlock()
}

// release gives back what the copy did not write; it ended.
func (r *reservation) release() { r.wrote(r.left) }

// Reserved is the space held for copies in flight: the bytes they have
// still to write.
func (s *Staging) Reserved() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reserved
}
