//go:build !linux

package storage

import "os"

func dropCache(*os.File) {}

// Free is unknown off Linux; copies find out by trying.
func (s *Staging) Free() (int64, error) { return 1 << 62, nil }
