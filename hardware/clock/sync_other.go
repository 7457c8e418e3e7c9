//go:build !linux

package clock

// ReadSync knows nothing outside Linux: the clock is judged by its steps.
func ReadSync() (Sync, error) { return Sync{}, nil }
