//go:build !linux

package main

func sdNotify(string, string) error { return nil }
