//go:build !linux

package storage

import "os"

func dropCache(*os.File) {}
