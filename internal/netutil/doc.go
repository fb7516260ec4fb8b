// Package netutil holds the module's small network checks that more than
// one package makes.
package netutil
