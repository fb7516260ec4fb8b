package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// versionString describes the build: the module version ("(devel)" for a
// build from a checkout), the VCS revision when known, and the Go version.
func versionString() string {
	version, extra := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = "-dirty"
				}
			}
		}
		if rev != "" {
			extra = ", commit " + rev[:min(len(rev), 12)] + modified
		}
	}
	return fmt.Sprintf("awsoidc %s (%s%s, %s/%s)", version, runtime.Version(), extra, runtime.GOOS, runtime.GOARCH)
}

// printVersion prints versionString and, with --verbose, the modules built
// in, for --version.
func (a *app) printVersion() {
	fmt.Fprintln(a.stdout, versionString())
	if !a.verbose {
		return
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(a.stdout, "module %s\n", bi.Main.Path)
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v += " => " + d.Replace.Path + " " + d.Replace.Version
			}
			fmt.Fprintf(a.stdout, "dep    %s %s\n", d.Path, v)
		}
	}
}
