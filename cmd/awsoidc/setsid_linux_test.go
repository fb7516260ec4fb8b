package main

import "syscall"

func setsid(attr *syscall.SysProcAttr) { attr.Setsid = true }
