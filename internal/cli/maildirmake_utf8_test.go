package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// utf8Maildir makes a maildir with the given folder directories (each with cur/new/tmp).
func utf8Maildir(t *testing.T, folders ...string) string {
	t.Helper()
	md := filepath.Join(t.TempDir(), "md")
	for _, d := range append([]string{""}, folders...) {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(md, d, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	return md
}

// treeSnapshot records every path under root with its mode and, for files, its content.
func treeSnapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += ":" + string(b)
		}
		snap[strings.TrimPrefix(p, root)] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func sameTree(t *testing.T, what string, a, b map[string]string) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d paths before, %d after\nbefore %v\nafter %v", what, len(a), len(b), a, b)
	}
	for k, v := range a {
		if b[k] != v {
			t.Fatalf("%s: %s changed: %q -> %q", what, k, v, b[k])
		}
	}
}

func folderDirs(t *testing.T, md string) []string {
	t.Helper()
	ents, err := os.ReadDir(md)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

func sortedLines(s string) []string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	sort.Strings(l)
	return l
}

func TestConvUTF8Usage(t *testing.T) {
	for _, a := range []string{"--checkutf8", "--convutf8"} {
		if c, out, _ := runTool(t, "", "maildirmake", a); c != 1 || out != "Usage: maildirmake [ options ] maildir\n" {
			t.Fatalf("%s alone: %d %q", a, c, out)
		}
	}
	// A missing maildir has no folders: nothing to do.
	if c, out, e := runTool(t, "", "maildirmake", "--convutf8", filepath.Join(t.TempDir(), "none")); c != 0 || !strings.HasPrefix(out, "Checking ") || strings.Count(out, "\n") != 1 || e != "" {
		t.Fatalf("missing maildir: %d %q %q", c, out, e)
	}
}

func TestConvUTF8NothingToDo(t *testing.T) {
	md := utf8Maildir(t, ".Sent", ".Sent.2024", ".Trash")
	os.Mkdir(filepath.Join(md, ".NotAFolder&AOk-"), 0o700) // no cur/: not a folder, ignored
	subs := filepath.Join(md, subscribedFile)
	os.WriteFile(subs, []byte("INBOX.Sent\nINBOX.Sent.2024\n"), 0o600)
	before := treeSnapshot(t, md)
	c, out, e := runTool(t, "", "maildirmake", "--checkutf8", md)
	if c != 0 || out != "Checking "+md+":\nVerified "+subs+"\n" || e != "" {
		t.Fatalf("check: %d %q %q", c, out, e)
	}
	sameTree(t, "--checkutf8", before, treeSnapshot(t, md))
	c, out, e = runTool(t, "", "maildirmake", "--convutf8", md)
	if c != 0 || out != "Checking "+md+":\nUpdating "+subs+"\n" || e != "" {
		t.Fatalf("conv: %d %q %q", c, out, e)
	}
	sameTree(t, "--convutf8 with nothing to do", before, treeSnapshot(t, md))
}

func TestConvUTF8Folders(t *testing.T) {
	md := utf8Maildir(t, ".R&AOk-sum&AOk-", ".A&AOk-", ".A&AOk-.B", ".A&AOk-.C&AOk-", ".Plain", ".&ZeVnLIqe-", ".Tom &- Jerry", ".Emoji&2D3eAA-")
	msg := filepath.Join(md, ".R&AOk-sum&AOk-", "cur", "1000.M1P1.host:2,S")
	os.WriteFile(msg, []byte("Subject: x\n\nhello\n"), 0o600)
	subs := filepath.Join(md, subscribedFile)
	os.WriteFile(subs, []byte("INBOX.R&AOk-sum&AOk-\nINBOX.Plain\nINBOX.A&AOk-.B\n\nINBOX\n"), 0o640)

	before := treeSnapshot(t, md)
	c, out, e := runTool(t, "", "maildirmake", "--checkutf8", md)
	if c != 0 || e != "" {
		t.Fatalf("check: %d %q", c, e)
	}
	sameTree(t, "--checkutf8", before, treeSnapshot(t, md))
	wantRenames := []string{
		"Rename INBOX.Emoji&2D3eAA- to INBOX.Emoji😀",
		"Rename INBOX.&ZeVnLIqe- to INBOX.日本語",
		"Rename INBOX.A&AOk- to INBOX.Aé",
		"Rename INBOX.A&AOk-.B to INBOX.Aé.B",
		"Rename INBOX.A&AOk-.C&AOk- to INBOX.Aé.Cé",
		"Rename INBOX.R&AOk-sum&AOk- to INBOX.Résumé",
		"Rename INBOX.Tom &- Jerry to INBOX.Tom & Jerry",
	}
	sort.Strings(wantRenames)
	check := func(out, last string) {
		t.Helper()
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		head := "Checking " + md + ":\n" +
			"Subscription to INBOX.R&AOk-sum&AOk- changed to INBOX.Résumé\n" +
			"Subscription to INBOX.A&AOk-.B changed to INBOX.Aé.B\n"
		if !strings.HasPrefix(out, head) || lines[len(lines)-1] != last {
			t.Fatalf("output:\n%s", out)
		}
		got := append([]string(nil), lines[3:len(lines)-1]...)
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(wantRenames, "\n") {
			t.Fatalf("renames:\n%s", strings.Join(got, "\n"))
		}
	}
	check(out, "Verified "+subs)

	c, out, e = runTool(t, "", "maildirmake", "--convutf8", md)
	if c != 0 || e != "" {
		t.Fatalf("conv: %d %q", c, e)
	}
	check(out, "Updating "+subs)
	got := folderDirs(t, md)
	want := []string{".Aé", ".Aé.B", ".Aé.Cé", ".Emoji😀", ".Plain", ".Résumé", ".Tom & Jerry", ".日本語"}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("folders %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(md, ".Résumé", "cur", "1000.M1P1.host:2,S")); string(b) != "Subject: x\n\nhello\n" {
		t.Fatalf("message lost: %q", b)
	}
	b, _ := os.ReadFile(subs)
	if string(b) != "INBOX.Résumé\nINBOX.Plain\nINBOX.Aé.B\n\nINBOX\n" {
		t.Fatalf("subscriptions %q", b)
	}
	if fi, _ := os.Stat(subs); fi.Mode().Perm() != 0o640 {
		t.Fatalf("subscriptions mode %v", fi.Mode())
	}
	if _, err := os.Stat(subs + ".new"); err == nil {
		t.Fatal(".new left behind")
	}

	// A second run: UTF-8 names stay as they are, "Tom & Jerry" is now not modified UTF-7.
	before = treeSnapshot(t, md)
	c, out, e = runTool(t, "", "maildirmake", "--convutf8", md)
	if c != 1 || out != "Checking "+md+":\n" || e != "Error: INBOX.Tom & Jerry: does not appear to be valid modified-UTF7\n" {
		t.Fatalf("second run: %d %q %q", c, out, e)
	}
	sameTree(t, "failed second run", before, treeSnapshot(t, md))
	os.Rename(filepath.Join(md, ".Tom & Jerry"), filepath.Join(md, ".Tom and Jerry"))
	c, out, e = runTool(t, "", "maildirmake", "--convutf8", md)
	if c != 0 || out != "Checking "+md+":\nUpdating "+subs+"\n" || e != "" {
		t.Fatalf("third run: %d %q %q", c, out, e)
	}
	if b, _ := os.ReadFile(subs); string(b) != "INBOX.Résumé\nINBOX.Plain\nINBOX.Aé.B\n\nINBOX\n" {
		t.Fatalf("subscriptions after third run %q", b)
	}
}

func TestConvUTF8InvalidNames(t *testing.T) {
	for _, bad := range []string{
		"&", "a&b", "&AOk", "&AOk x-", "&Zé-", "&2D0-", "&AOk_-", "\xe9",
		// valid modified UTF-7 that Courier would turn into an unsafe name
		"&AC8-", "a&AC8-b", "&AC4-", "x&AC4-y", "&AAA-", "&AO-", "&AAk-", "&AH8-",
	} {
		md := utf8Maildir(t, ".Ok&AOk-", "."+bad)
		subs := filepath.Join(md, subscribedFile)
		os.WriteFile(subs, []byte("INBOX.Ok&AOk-\n"), 0o600)
		before := treeSnapshot(t, filepath.Dir(md))
		for _, mode := range []string{"--checkutf8", "--convutf8"} {
			c, out, e := runTool(t, "", "maildirmake", mode, md)
			if c != 1 || out != "Checking "+md+":\n" || e != "Error: INBOX."+bad+": does not appear to be valid modified-UTF7\n" {
				t.Fatalf("%q %s: %d %q %q", bad, mode, c, out, e)
			}
			sameTree(t, bad, before, treeSnapshot(t, filepath.Dir(md)))
		}
	}
}

func TestConvUTF8Sloppy(t *testing.T) {
	for in, want := range map[string]string{
		"INBOX.&AGE-":      "INBOX.a",  // printable ASCII in BASE64
		"INBOX.&AOk-&AOk-": "INBOX.éé", // adjacent shifts
		"INBOX.&AOl-":      "INBOX.é",  // non-zero padding bits
		"INBOX.&AOkA-":     "INBOX.é",  // left-over bits
		"INBOX.&-&AOk-":    "INBOX.&é", // "&-"
		"INBOX.é&AOk-":     "INBOX.éé", // raw UTF-8 stands for itself
		"INBOX.Résumé":     "INBOX.Résumé",
		"shared.x&AOk-":    "shared.xé",
		"":                 "",
		"INBOX..a":         "INBOX..a",
		"a\x01b":           "a\x01b",
	} {
		got, ok := convertFolderNameUTF8(in)
		if !ok || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, ok, want)
		}
	}
}

func TestConvUTF8TargetExists(t *testing.T) {
	md := utf8Maildir(t, ".&AGE-b", ".ab", ".&AGE-c", ".&AGE-d")
	keep := filepath.Join(md, ".ab", "cur", "keep:2,")
	os.WriteFile(keep, []byte("x\n"), 0o600)
	os.WriteFile(filepath.Join(md, ".ad"), []byte("file"), 0o600)
	c, out, e := runTool(t, "", "maildirmake", "--convutf8", md)
	if c != 1 {
		t.Fatalf("exit %d", c)
	}
	if !strings.Contains(out, "Rename INBOX.&AGE-b to INBOX.ab\n") || !strings.Contains(out, "Rename INBOX.&AGE-c to INBOX.ac\n") {
		t.Fatalf("out %q", out)
	}
	wantErr := []string{
		"FATAL ERROR RENAMING " + md + "/.&AGE-b to " + md + "/.ab: Directory not empty",
		"FATAL ERROR RENAMING " + md + "/.&AGE-d to " + md + "/.ad: Not a directory",
	}
	if got := sortedLines(e); strings.Join(got, "\n") != strings.Join(wantErr, "\n") {
		t.Fatalf("stderr %q", e)
	}
	if b, _ := os.ReadFile(keep); string(b) != "x\n" {
		t.Fatal("existing folder touched")
	}
	for _, p := range []string{".&AGE-b/cur", ".&AGE-d/cur", ".ac/cur"} {
		if _, err := os.Stat(filepath.Join(md, p)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
}

func TestConvUTF8Subscriptions(t *testing.T) {
	md := utf8Maildir(t, ".F&AOk-")
	subs := filepath.Join(md, subscribedFile)
	for _, tc := range []struct{ content, out, err string }{
		{"INBOX.F&AOk-\nINBOX.bad&\n", "Subscription to INBOX.F&AOk- changed to INBOX.Fé\n",
			"Error: courierimapsubscribed: INBOX.bad&: does not appear to be valid modified-UTF7\n"},
		{"INBOX.F&AOk-\nno-newline", "Subscription to INBOX.F&AOk- changed to INBOX.Fé\n",
			"Error: courierimapsubscribed: folder name too long\n"},
		{strings.Repeat("x", 3000) + "\n", "", "Error: courierimapsubscribed: folder name too long\n"},
	} {
		os.WriteFile(subs, []byte(tc.content), 0o600)
		before := treeSnapshot(t, md)
		c, out, e := runTool(t, "", "maildirmake", "--convutf8", md)
		if c != 1 || out != "Checking "+md+":\n"+tc.out || e != tc.err {
			t.Fatalf("%q: %d %q %q", tc.content[:10], c, out, e)
		}
		sameTree(t, "bad subscriptions", before, treeSnapshot(t, md))
	}
}

const sqwebmailFilter = `#MFMAILDROP=2
#
# DO NOT EDIT THIS FILE.  This is an automatically generated filter.

FROM='me@example.com'
##Op:contains
##Header:Subject
##Value:invoice
##Folder:.R&AOk-sum&AOk-
##From:
##Name:Invoices


if ((/^Subject:.*invoice/))
{
   to "/home/u/Maildir/.R&AOk-sum&AOk-/."
}

##Op:endswith
##Header:X-Foo
##Value:a.b
##Folder:.
##From:
##PlainString
##Continue
##DoesNot
##Name:Tail

##Op:contains
##Header:Subject
##Value:a/b
##Folder:.R&AOk-sum&AOk-
##Name:dropped

##Op:anymessage
##Header:
##Value:
##Folder:+vac days=3 dsn=1
##From:  Me <me@x>
##Name:Vac

to "/home/u/Maildir/."
`

const sqwebmailFilterConverted = `#MFMAILDROP=2
#
# DO NOT EDIT THIS FILE.  This is an automatically generated filter.

FROM='me@example.com'
##Op:contains
##Header:Subject
##Value:invoice
##Folder:.Résumé
##From:
##Name:Invoices


if ((/^Subject:.*invoice/))
{
   to "/home/u/Maildir/.Résumé/."
}

##Op:endswith
##Header:X-Foo
##Value:a.b
##Folder:.
##From:
##PlainString
##DoesNot
##Continue
##Name:Tail


if (!(/^X-Foo:.*a\.b$/))
{
   cc "/home/u/Maildir/."
}

##Op:anymessage
##Header:
##Value:
##Folder:+vac days=3 dsn=1
##From:Me <me@x>
##Name:Vac


if ((1))
{
    AUTOREPLYFROM='Me <me@x>'
   ` + "`/usr/bin/mailbot -A \"X-Sender: $FROM\" -A \"From: $AUTOREPLYFROM\" -M \"$FROM\" -m \"/home/u/Maildir/autoresponses/vac\" -d \"/home/u/Maildir/autoresponses/vac.dat\" -D 3 $SENDMAIL -t -f \"\"`" + `
}

to "/home/u/Maildir/."
`

func TestConvUTF8Mailfilter(t *testing.T) {
	md := utf8Maildir(t, ".R&AOk-sum&AOk-")
	mf := filepath.Join(filepath.Dir(md), ".mailfilter")
	os.WriteFile(mf, []byte(sqwebmailFilter), 0o640)
	before := treeSnapshot(t, filepath.Dir(md))
	c, out, e := runTool(t, "", "maildirmake", "--checkutf8", md, mf)
	want := "Checking " + md + ":\nMail filter to INBOX.R&AOk-sum&AOk- updated to INBOX.Résumé\nRename INBOX.R&AOk-sum&AOk- to INBOX.Résumé\n"
	if c != 0 || out != want+"Verified "+mf+"\n" || e != "" {
		t.Fatalf("check: %d %q %q", c, out, e)
	}
	sameTree(t, "--checkutf8 with a filter", before, treeSnapshot(t, filepath.Dir(md)))
	c, out, e = runTool(t, "", "maildirmake", "--convutf8", md, mf)
	if c != 0 || out != want+"Updating "+mf+"\n" || e != "" {
		t.Fatalf("conv: %d %q %q", c, out, e)
	}
	b, _ := os.ReadFile(mf)
	if string(b) != sqwebmailFilterConverted {
		t.Fatalf("filter:\n%s", b)
	}
	if fi, _ := os.Stat(mf); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", fi.Mode())
	}

	// Not SqWebMail's: reported, left alone, not an error.
	md = utf8Maildir(t, ".R&AOk-sum&AOk-")
	foreign := filepath.Join(filepath.Dir(md), "foreign")
	os.WriteFile(foreign, []byte("# mine\nto \"$HOME/Maildir/.R&AOk-sum&AOk-/.\"\n"), 0o600)
	c, out, e = runTool(t, "", "maildirmake", "--convutf8", md, foreign)
	if c != 0 || out != "Checking "+md+":\nRename INBOX.R&AOk-sum&AOk- to INBOX.Résumé\n" || e != "Error: cannot load "+foreign+"\n" {
		t.Fatalf("foreign: %d %q %q", c, out, e)
	}
	if b, _ := os.ReadFile(foreign); !strings.Contains(string(b), "R&AOk-sum") {
		t.Fatal("foreign filter rewritten")
	}
	// Missing: ignored.
	md = utf8Maildir(t)
	if c, out, e := runTool(t, "", "maildirmake", "--convutf8", md, filepath.Join(md, "none")); c != 0 || out != "Checking "+md+":\n" || e != "" {
		t.Fatalf("missing: %d %q %q", c, out, e)
	}
	// Unparseable (no FROM= and no final "to"), or a folder that is not modified UTF-7:
	// error, nothing changed.
	for _, content := range []string{
		"#MFMAILDROP=2\n##Op:contains\n##Header:Subject\n##Value:x\n##Folder:.R&AOk-sum&AOk-\n##Name:r\n",
		"#MFMAILDROP=2\nFROM='a'\n##Op:contains\n##Header:Subject\n##Value:x\n##Folder:.R&AOk\n##Name:r\nto \"/m/.\"\n",
	} {
		md = utf8Maildir(t, ".R&AOk-sum&AOk-")
		bad := filepath.Join(filepath.Dir(md), "bad")
		os.WriteFile(bad, []byte(content), 0o600)
		before := treeSnapshot(t, filepath.Dir(md))
		if c, _, e := runTool(t, "", "maildirmake", "--convutf8", md, bad); c != 1 || e == "" {
			t.Fatalf("bad filter: %d %q", c, e)
		}
		sameTree(t, "bad filter", before, treeSnapshot(t, filepath.Dir(md)))
	}
}
