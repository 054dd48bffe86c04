package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestInstallLinksLean checks that the per-message tools link to courier-mda when it is
// installed beside courier, and every other tool to courier itself.
func TestInstallLinksLean(t *testing.T) {
	bin := t.TempDir()
	self := filepath.Join(bin, "courier")
	lean := filepath.Join(bin, "courier-mda")
	for _, p := range []string{self, lean} {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old := selfExecutable
	selfExecutable = func() (string, error) { return self, nil }
	defer func() { selfExecutable = old }()

	for _, withLean := range []bool{true, false} {
		if !withLean {
			os.Remove(lean) //nolint:errcheck
		}
		links := t.TempDir()
		var out, errb bytes.Buffer
		if code := runInstallLinks(&Env{Args: []string{links}, Stdout: &out, Stderr: &errb}); code != 0 {
			t.Fatalf("install-links: exit %d: %s", code, errb.String())
		}
		for name, want := range map[string]string{"maildrop": lean, "deliverquota": lean, "sendmail": self, "maildirmake": self} {
			if !withLean {
				want = self
			}
			got, err := os.Readlink(filepath.Join(links, name))
			if err != nil || got != want {
				t.Errorf("lean=%v: %s -> %q (%v), want %q", withLean, name, got, err, want)
			}
		}
	}
}
