//go:build !cgo

package main

// check cannot work without cgo: PAM is a C library.
func check(_, _, _, _, _ string) (Outcome, string) {
	return Error, "courier-authpam was built without cgo (CGO_ENABLED=0); rebuild it with cgo and libpam0g-dev"
}
