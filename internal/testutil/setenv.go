package testutil

import (
	"os"
	"regexp"
	"testing"
)

// SetEnv sets NAME=value in a Courier settings file, replacing an existing assignment.
func SetEnv(t testing.TB, file, name, value string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `=.*$`)
	line := name + "=" + value
	var s string
	if re.Match(b) {
		s = re.ReplaceAllLiteralString(string(b), line)
	} else {
		s = string(b) + line + "\n"
	}
	if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
