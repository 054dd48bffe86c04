package courierfmt

import (
	"os"
	"path/filepath"
	"testing"
)

// TestShippedFiles parses every configuration file Debian's Courier packages
// install in /etc/courier (copied to testdata/shipped) and checks a few
// values.
func TestShippedFiles(t *testing.T) {
	t.Parallel()
	base := func(name string) (string, bool) {
		if name == "sysconfdir" {
			return "/etc/courier", true
		}
		return "", false
	}
	envs, _ := filepath.Glob("testdata/shipped/env/*")
	if len(envs) < 15 {
		t.Fatalf("only %d env files", len(envs))
	}
	parsed := map[string]*EnvFile{}
	for _, p := range envs {
		f, err := LoadEnv(p, base)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(f.Vars) == 0 || len(f.Warnings) != 0 {
			t.Errorf("%s: %d vars, warnings %v", p, len(f.Vars), f.Warnings)
		}
		parsed[filepath.Base(p)] = f
	}
	check := func(file, name, want string, line int) {
		t.Helper()
		f := parsed[file]
		if f == nil {
			return
		}
		v, ok := f.Lookup(name)
		if !ok || v.Value != want || v.Line != line {
			t.Errorf("%s %s = %+v, want %q at line %d", file, name, v, want, line)
		}
	}
	check("imapd", "MAXDAEMONS", "40", 54)
	check("imapd", "IMAP_CAPABILITY", "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE", 111)
	check("esmtpd", "ACCESSFILE", "/etc/courier/smtpaccess", lineOf(t, "testdata/shipped/env/esmtpd", "ACCESSFILE="))
	check("authdaemonrc", "authmodulelist", "authpam", 27)
	if f := parsed["courierd"]; f != nil && (len(f.Sourced) != 1 || f.Sourced[0].Text != "/etc/environment") {
		t.Errorf("courierd Sourced = %v", f.Sourced)
	}
	// Expansion of a name assigned earlier in the same file.
	check("imapd", "IMAP_CAPABILITY_TLS",
		"IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE AUTH=PLAIN", 187)
	// Expansion from the base environment: Courier's scripts read imapd
	// before imapd-ssl.
	ssl, err := LoadEnv("testdata/shipped/env/imapd-ssl", func(n string) (string, bool) {
		if n == "TLS_PROTOCOL" {
			return "TLSv1.2+", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := ssl.Lookup("TLS_STARTTLS_PROTOCOL"); v.Value != "TLSv1.2+" {
		t.Errorf("TLS_STARTTLS_PROTOCOL = %q", v.Value)
	}

	rcs, _ := filepath.Glob("testdata/shipped/authrc/*")
	if len(rcs) != 4 {
		t.Fatalf("%d authrc files", len(rcs))
	}
	for _, p := range rcs {
		f, err := LoadAuthRC(p)
		if err != nil || len(f.Warnings) != 0 {
			t.Errorf("%s: %v %v", p, err, f.Warnings)
		}
	}
	ldap, _ := LoadAuthRC("testdata/shipped/authrc/authldaprc")
	if v, _ := ldap.Lookup("LDAP_URI"); v.Value != "ldaps://ldap.example.com, ldaps://backup.example.com" {
		t.Errorf("LDAP_URI = %q", v.Value)
	}

	ctl, _ := filepath.Glob("testdata/shipped/control/*")
	for _, p := range ctl {
		if _, _, err := ReadControl(p); err != nil {
			t.Errorf("%v", err)
		}
	}
	lines, _, _ := ReadControl("testdata/shipped/control/aliases-system")
	if len(lines) != 5 || lines[0].Text != "root: postmaster" || lines[4].Text != "postmaster:" {
		t.Errorf("aliases: %v", lines)
	}
	first, err := ReadFirstLine("testdata/shipped/control/enablefiltering")
	if err != nil || first != "esmtp" {
		t.Errorf("enablefiltering: %q %v", first, err)
	}

	// The real tree, when courier-ref has unpacked it: every file parses.
	const real = "/var/tmp/courier-ref/root/etc/courier"
	if _, err := os.Stat(real); err == nil {
		for _, p := range envs {
			if _, err := LoadEnv(filepath.Join(real, filepath.Base(p)), base); err != nil {
				t.Errorf("%v", err)
			}
		}
	}
}

// lineOf returns the number of the first line of path that starts with prefix.
func lineOf(t *testing.T, path, prefix string) int {
	t.Helper()
	lines, err := ParseControl(path, mustOpen(t, path))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if len(l.Text) >= len(prefix) && l.Text[:len(prefix)] == prefix {
			return l.Line
		}
	}
	t.Fatalf("%s: no line starting with %q", path, prefix)
	return 0
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
