package sharedindex

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseResolveWalk(t *testing.T) {
	dir := t.TempDir()
	top := filepath.Join(dir, "index")
	os.WriteFile(top, []byte("# comment\n\nbob\t1000\t1000\t/home/bob\nsales.team\t*\tindexsales\nbad line\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "indexsales"), []byte("ann@example.com\t1\t1\t/h/ann\t/var/mail/ann\nloop\t*\tindex\n"), 0o644)
	r := NewReader()
	es := r.Read(top)
	if len(es) != 2 || es[0].MaildirPath() != "/home/bob/Maildir" || !es[1].IsGroup() || es[1].IMAPName() != "sales team" {
		t.Fatalf("%+v", es)
	}
	if len(r.Errs) != 1 || !strings.Contains(r.Errs[0].Error(), "index(5): syntax error") {
		t.Errorf("errors: %v", r.Errs)
	}
	res, ok := r.Resolve(top, []string{"sales team", "ann@example com", "Work", "2024"})
	if !ok || res.Account == nil || res.Account.MaildirPath() != "/var/mail/ann" || res.Folder != "INBOX.Work.2024" {
		t.Errorf("%+v %v", res, ok)
	}
	if res, ok := r.Resolve(top, []string{"sales team"}); !ok || res.Account != nil {
		t.Errorf("group node: %+v %v", res, ok)
	}
	if _, ok := r.Resolve(top, []string{"nobody"}); ok {
		t.Error("unknown account resolved")
	}
	n := 0
	r.Walk(top, func(levels []string, e Entry) { n++ }) // the loop back to index ends at MaxDepth
	if n == 0 || n > 3*(MaxDepth+2) {
		t.Errorf("walk visited %d entries", n)
	}
}
