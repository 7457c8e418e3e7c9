//go:build !linux

package disk

import "errors"

func statfs(string) (FSStats, error) {
	return FSStats{}, errors.New("storage health is only measured on Linux")
}
