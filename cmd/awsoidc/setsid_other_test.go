//go:build !linux

package main

import "syscall"

func setsid(*syscall.SysProcAttr) {}
