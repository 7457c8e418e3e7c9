//go:build !linux

package digest

import "os"

// DropCache does nothing where the kernel offers no such advice.
func DropCache(*os.File) {}
