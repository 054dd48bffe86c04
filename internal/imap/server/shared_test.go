package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"courier/internal/store/acl"
	"courier/internal/store/maildir"
	"courier/internal/store/maildirstore"
)

// sharable makes a sharable maildir (maildirmake -S) with write-shared folders and
// attaches it to the maildir md as nick (maildirmake --add).
func sharable(t *testing.T, md, nick string, folders ...string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "shared")
	if err := maildir.Create(root, maildir.Sharable, true); err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		if err := maildir.CreateSharedFolder(root, "."+f, maildir.SharedWrite); err != nil {
			t.Fatal(err)
		}
	}
	if err := maildir.AddShared(md, nick, root, ""); err != nil {
		t.Fatal(err)
	}
	return root
}

func msg(subject string) string {
	return "From: a@example.test\nSubject: " + subject + "\n\nbody of " + subject + "\n"
}

// APPEND into a filesystem shared folder stores the message in the sharable folder (with
// the flags, as Courier) and answers with its UID in the user's copy (RFC 4315), where the
// flags are the user's; COPY works both ways between the account's folders and the shared
// one; MOVE out of it removes the shared message.
func TestSharedFSAppendCopy(t *testing.T) {
	md, st := newMaildir(t, "INBOX.Work")
	root := sharable(t, md, "firm", "Board")
	deliverTo(t, filepath.Join(root, ".Board"), msg("one"))
	deliverTo(t, md, msg("mine"))
	out := session(t, st, md, time.Time{}, nil,
		"a SELECT shared.firm.Board",
		"b APPEND shared.firm.Board (\\Seen) {4}", "hi\n",
		"c NOOP",
		"d FETCH 1:* (UID FLAGS)",
		"e SELECT INBOX",
		"f COPY 1 shared.firm.Board",
		"g SELECT shared.firm.Board",
		"h FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
		"i UID MOVE 1 INBOX.Work",
		"j STATUS INBOX.Work (MESSAGES)",
		"k LSUB \"\" \"*\"",
		"z LOGOUT")
	expect(t, out,
		"a OK [READ-WRITE] Ok",
		"* OK [MYRIGHTS \"dilrsw\"] ACL",
		"* 1 FETCH (UID 1 FLAGS (\\Recent))",
		"* 2 FETCH (UID 2 FLAGS (\\Seen))",
	)
	if !regexp.MustCompile(`b OK \[APPENDUID \d+ 2\] APPEND Ok\.\r\n`).MatchString(out) {
		t.Errorf("APPEND into the shared folder: %s", out)
	}
	if !regexp.MustCompile(`f OK \[COPYUID \d+ 1 3\] COPY completed\.\r\n`).MatchString(out) {
		t.Errorf("COPY into the shared folder: %s", out)
	}
	expect(t, out, "* STATUS \"INBOX.Work\" (MESSAGES 1)", "* LSUB (\\HasNoChildren) \".\" \"shared.firm.Board\"")
	names, _ := os.ReadDir(filepath.Join(root, ".Board", "cur"))
	var infos []string
	for _, n := range names {
		infos = append(infos, n.Name()[strings.LastIndex(n.Name(), ":"):])
	}
	// "one" was moved out; the appended message keeps \Seen in the shared file.
	if fmt.Sprint(infos) != "[:2,S :2,]" && fmt.Sprint(infos) != "[:2, :2,S]" {
		t.Errorf("sharable folder holds %v", infos)
	}
}

// EXPUNGE in a shared folder removes the shared message, so every user's copy loses it at
// its next sync; a user's flags stay in that user's copy.
func TestSharedFSFlagsPerUser(t *testing.T) {
	mdA, stA := newMaildir(t)
	mdB, stB := newMaildir(t)
	root := sharable(t, mdA, "firm", "Board")
	if err := maildir.AddShared(mdB, "firm", root, ""); err != nil {
		t.Fatal(err)
	}
	deliverTo(t, filepath.Join(root, ".Board"), msg("one"), msg("two"))
	outA := session(t, stA, mdA, time.Time{}, nil,
		"a SELECT shared.firm.Board", "b STORE 1 +FLAGS (\\Flagged)", "c STORE 2 +FLAGS (\\Deleted)", "d EXPUNGE", "z LOGOUT")
	expect(t, outA, "* 2 EXPUNGE")
	outB := session(t, stB, mdB, time.Time{}, nil, "a SELECT shared.firm.Board", "b FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", "z LOGOUT")
	expect(t, outB, "* 1 EXISTS", "* 1 FETCH (FLAGS (\\Recent) BODY[HEADER.FIELDS (\"SUBJECT\")] {16}", "Subject: one")
	if count(t, filepath.Join(root, ".Board")) != 1 {
		t.Errorf("the expunged message is still in the sharable folder")
	}
}

// Names in the shared namespace cannot leave the sharable maildir or the user's copies.
func TestSharedFSNamesContained(t *testing.T) {
	md, st := newMaildir(t)
	sharable(t, md, "firm", "Board")
	out := session(t, st, md, time.Time{}, nil,
		"a SELECT shared.firm..Board",
		"b SELECT shared.firm.Board/../../x",
		"c SELECT shared.../etc",
		"d SELECT shared.nosuch.Board",
		"e SUBSCRIBE shared.firm.a/b",
		"z LOGOUT")
	for _, tag := range []string{"a", "b", "c", "d", "e"} {
		if !regexp.MustCompile(`(?m)^` + tag + ` NO `).MatchString(out) {
			t.Errorf("%s not refused:\n%s", tag, out)
		}
	}
	if _, err := os.Stat(filepath.Join(md, "shared-folders", "nosuch")); err == nil {
		t.Error("a copy was made for an unknown nick")
	}
}

// virtualSetup makes the session's maildir, another account's ("bob") with folders and
// ACLs, and a shared index listing both, and returns the settings that use it.
func virtualSetup(t *testing.T) (md string, st *maildirstore.Store, bob string, env map[string]string) {
	t.Helper()
	md, st = newMaildir(t)
	home := t.TempDir()
	bob = filepath.Join(home, "Maildir")
	if err := maildir.Create(bob, maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	bst, err := maildirstore.Open(bob, &maildirstore.Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"INBOX.Public", "INBOX.Public.Sub", "INBOX.Private", "INBOX.Ro", "INBOX.Seen", "INBOX.Box"} {
		if err := bst.Create(f); err != nil {
			t.Fatal(err)
		}
	}
	bst.Close()
	deliverTo(t, filepath.Join(bob, ".Public"), msg("one"), msg("two"))
	deliverTo(t, filepath.Join(bob, ".Ro"), msg("ro"))
	deliverTo(t, filepath.Join(bob, ".Seen"), msg("seen"))
	a := acl.Open(bob)
	for dir, r := range map[string]string{".Public": "lrswite", ".Ro": "lr", ".Seen": "lrs", ".Box": "lrwic"} {
		if err := a.Set(dir, "user=test", r); err != nil {
			t.Fatal(err)
		}
	}
	index := filepath.Join(t.TempDir(), "index")
	lines := fmt.Sprintf("# accounts\nbob\t%d\t%d\t%s\tMaildir\ntest\t%d\t%d\t%s\t.\n", os.Getuid(), os.Getgid(), home, os.Getuid(), os.Getgid(), md)
	if err := os.WriteFile(index, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	return md, st, bob, map[string]string{"IMAP_SHAREDINDEXFILE": index, "IMAP_ACL": "1"}
}

// Virtual shared folders: what LIST shows, and what each right allows.
func TestVirtualSharedRights(t *testing.T) {
	md, st, bob, env := virtualSetup(t)
	deliverTo(t, md, msg("mine"))
	out := session(t, st, md, time.Time{}, env,
		`a LIST "" "*"`,
		`b LIST "" "#shared.*"`,
		`c LIST "" "#shared.%"`,
		"d MYRIGHTS #shared.bob.Public",
		"e MYRIGHTS #shared.bob.Private",
		"f MYRIGHTS #shared.bob.Nope",
		"g GETACL #shared.bob.Public",
		"h SELECT #shared.bob.Private",
		"i STATUS #shared.bob.Private (MESSAGES)",
		"j STATUS #shared.bob.Public (MESSAGES UNSEEN)",
		"k SELECT #shared.bob.Public",
		"l STORE 2 +FLAGS (\\Deleted)",
		"m EXPUNGE",
		"n SELECT #shared.bob.Ro",
		"o STORE 1 +FLAGS (\\Seen)",
		"p SELECT #shared.bob.Seen",
		"q STORE 1 +FLAGS (\\Seen \\Flagged)",
		"r EXPUNGE",
		"s CREATE #shared.bob.Ro.Sub",
		"t CREATE #shared.bob.Box.Sub",
		"u SUBSCRIBE #shared.bob.Public",
		`v LSUB "" "#shared.*"`,
		`w LSUB "" "*"`,
		"x SELECT INBOX",
		"y COPY 1 #shared.bob.Public",
		"z LOGOUT")
	expectNot(t, out, `* LIST (\HasNoChildren) "." "#shared.bob.Public"`)
	expect(t, out,
		`* LIST (\HasChildren) "." "#shared.bob.Public"`,
		`* LIST (\HasNoChildren) "." "#shared.bob.Public.Sub"`,
		`* LIST (\HasNoChildren) "." "#shared.bob.Ro"`,
		`* LIST (\Noselect \HasChildren) "." "#shared.bob"`,
		`* MYRIGHTS "#shared.bob.Public" "ilrsw"`,
		`e NO Access denied for GETACL on #shared.bob.Private (ACL "a" required)`,
		`f NO Mailbox does not exist, or must be subscribed to.`,
		`g NO Access denied for GETACL on #shared.bob.Public (ACL "a" required)`,
		`h NO Access denied for SELECT/EXAMINE on #shared.bob.Private (ACL "r" required)`,
		`i NO Access denied for STATUS on #shared.bob.Private (ACL "r" required)`,
		`* STATUS "#shared.bob.Public" (MESSAGES 2 UNSEEN 2)`,
		`* OK [MYRIGHTS "eilrstw"] ACL`,
		`k OK [READ-WRITE] Ok`,
		`* 2 EXPUNGE`,
		`* OK [MYRIGHTS "lr"] ACL`,
		`n OK [READ-ONLY] Ok`,
		`* 1 FETCH (FLAGS (\Seen \Recent))`,
		`r OK EXPUNGE completed`,
		`s NO Access denied for CREATE on #shared.bob.Ro (ACL "c" required)`,
		`t OK "#shared.bob.Box.Sub" created.`,
		`* LSUB (\HasNoChildren) "." "#shared.bob.Public"`,
	)
	if strings.Contains(out, `"#shared.bob.Private"`+"\r\n") {
		t.Errorf("a folder without l is listed:\n%s", out)
	}
	if strings.Contains(out, `"#shared.test`) {
		t.Errorf("the session's own maildir is listed under #shared:\n%s", out)
	}
	if regexp.MustCompile(`(?m)^\* LSUB .*"#shared`).FindAllString(out, -1) == nil {
		t.Errorf("no #shared subscription listed:\n%s", out)
	}
	if regexp.MustCompile(`(?m)^\* LSUB .*"#shared.*\r\nw OK`).MatchString(out) {
		t.Errorf(`LSUB "*" shows #shared names:\n%s`, out)
	}
	if _, err := os.Stat(filepath.Join(bob, ".Box.Sub", "cur")); err != nil {
		t.Errorf("CREATE with c made no folder: %v", err)
	}
	if r, _ := acl.Open(bob).Rights(".Box.Sub", "test", nil, false); !strings.Contains(r, "c") {
		t.Errorf("the new folder did not inherit its parent's ACL: %q", r)
	}
	if !regexp.MustCompile(`y OK \[COPYUID \d+ 1 3\] COPY completed\.`).MatchString(out) {
		t.Errorf("COPY into #shared.bob.Public:\n%s", out)
	}
	if n := count(t, filepath.Join(bob, ".Public")); n != 2 {
		t.Errorf("bob's Public holds %d messages, want 2 (one expunged, one copied in)", n)
	}
	if n := count(t, filepath.Join(bob, ".Ro")); n != 1 {
		t.Errorf("bob's Ro holds %d messages", n)
	}
}

// A STORE on a folder with only "s" changes \Seen and leaves the rest.
func TestVirtualSharedStoreLimited(t *testing.T) {
	md, st, bob, env := virtualSetup(t)
	session(t, st, md, time.Time{}, env, "a SELECT #shared.bob.Seen", "b STORE 1 FLAGS (\\Seen \\Flagged \\Deleted)", "z LOGOUT")
	names, _ := os.ReadDir(filepath.Join(bob, ".Seen", "cur"))
	if len(names) != 1 || !strings.HasSuffix(names[0].Name(), ":2,S") {
		t.Errorf("bob's message is now %v, want only S", names)
	}
}

// Names below #shared never leave the owner's maildir, and a maildir that is not this
// process's own uid's is never used.
func TestVirtualSharedContained(t *testing.T) {
	md, st, bob, env := virtualSetup(t)
	out := session(t, st, md, time.Time{}, env,
		"a SELECT #shared.bob..Public",
		"b SELECT #shared.bob.Public/../../x",
		"c SELECT #shared.bob.../x",
		"d SELECT #shared.nobody.Public",
		"z LOGOUT")
	for _, tag := range []string{"a", "b", "c", "d"} {
		if !regexp.MustCompile(`(?m)^` + tag + ` NO `).MatchString(out) {
			t.Errorf("%s not refused:\n%s", tag, out)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("changing a maildir's owner needs root")
	}
	if err := os.Chown(bob, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	out = session(t, st, md, time.Time{}, env, `a LIST "" "#shared.*"`, "b SELECT #shared.bob.Public", "z LOGOUT")
	if strings.Contains(out, "#shared.bob") || !strings.Contains(out, "b NO Mailbox does not exist") {
		t.Errorf("a maildir of another uid was used:\n%s", out)
	}
}
