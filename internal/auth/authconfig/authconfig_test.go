package authconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestModuleNames(t *testing.T) {
	dir := t.TempDir()
	rc := `authmodulelist="authuserdb authshadow authpwd authsqlite authpgsql authmysql authldap authpipe authpam authcustom"` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "authdaemonrc"), []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range s.Chain.Modules {
		names = append(names, m.Name())
	}
	want := []string{"authuserdb", "authshadow", "authpwd", "authsqlite", "authpgsql", "authmysql", "authldap", "authpipe", "authpam"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("modules = %q", names)
	}
	// The SQL and LDAP modules warn about their missing rc files; authcustom
	// is not available.
	w := strings.Join(s.Warnings, "\n")
	for _, name := range []string{"authsqlite", "authpgsql", "authmysql", "authldap", "authcustom"} {
		if !strings.Contains(w, name) {
			t.Errorf("no warning for %s in %q", name, w)
		}
	}
}
