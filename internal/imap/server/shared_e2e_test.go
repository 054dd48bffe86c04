package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"courier/internal/auth/userdb"
	"courier/internal/store/maildir"
	"courier/internal/testutil"
)

// Virtual shared folders end to end: a quickstart server with a second account (bob, added
// to userdb and compiled as makeuserdb would), a shared index listing both accounts
// (IMAP_SHAREDINDEXFILE, as `authenumerate -s` writes it), bob granting demo rights over
// IMAP with SETACL, and demo seeing, reading and flagging bob's folder under #shared while
// the folders bob did not share stay out of sight.
func TestVirtualSharedTwoAccounts(t *testing.T) {
	var bobMD string
	s, demoMD := start(t, func(t testing.TB, conf string) {
		db := filepath.Join(conf, "userdb")
		b, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		var demo string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "demo@example.test\t") {
				demo = l
			}
		}
		if demo == "" {
			t.Fatalf("no demo account in userdb:\n%s", b)
		}
		bob := strings.NewReplacer("demo@", "bob@", "/demo/", "/bob/", "/demo|", "/bob|").Replace(demo)
		if err := os.WriteFile(db, []byte(strings.TrimRight(string(b), "\n")+"\n"+bob+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := userdb.Make(db); err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Split(strings.SplitN(bob, "\t", 2)[1], "|") {
			if m, ok := strings.CutPrefix(f, "mail="); ok {
				bobMD = m
			}
		}
		if bobMD == "" || !strings.Contains(bobMD, "/bob/") {
			t.Fatalf("bob's maildir: %q", bobMD)
		}
		if err := maildir.Create(bobMD, maildir.Private, true); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{".Projects", ".Diary"} {
			if err := maildir.CreateFolderDir(bobMD, f, maildir.Private); err != nil {
				t.Fatal(err)
			}
		}
		put(t, filepath.Join(bobMD, ".Projects"), 1, msg("plan"))
		put(t, filepath.Join(bobMD, ".Diary"), 2, msg("secret"))
		index := filepath.Join(conf, "shared", "index")
		if err := os.MkdirAll(filepath.Dir(index), 0o755); err != nil {
			t.Fatal(err)
		}
		demoMD := strings.Replace(bobMD, "/bob/", "/demo/", 1)
		lines := fmt.Sprintf("bob@example.test\t%d\t%d\t%s\tMaildir\ndemo@example.test\t%d\t%d\t%s\tMaildir\n",
			os.Getuid(), os.Getgid(), filepath.Dir(bobMD), os.Getuid(), os.Getgid(), filepath.Dir(demoMD))
		if err := os.WriteFile(index, []byte(lines), 0o644); err != nil {
			t.Fatal(err)
		}
		testutil.SetEnv(t, filepath.Join(conf, "imapd"), "IMAP_SHAREDINDEXFILE", index)
	})
	if filepath.Dir(filepath.Dir(bobMD)) != filepath.Dir(filepath.Dir(demoMD)) {
		t.Fatalf("bob's maildir %s is not beside demo's %s", bobMD, demoMD)
	}

	bob := testutil.Dial(t, s.MustAddr(t, "imap"))
	bob.ExpectMatch(`^\* OK `)
	bob.Send("L1 LOGIN bob@example.test " + s.Password)
	bob.ExpectMatch(`^L1 OK `)
	bob.Transcript(`
		C: a SETACL INBOX.Projects demo@example.test lrs
		S: a OK SETACL completed.
		C: b GETACL INBOX.Projects
		S: * ACL "INBOX.Projects" "owner" "acdilrsw" "administrators" "acdilrsw" "demo@example.test" "lrs"
		S: b OK GETACL completed.
	`)

	demo := login(t, s)
	demo.Transcript(`
		C: a LIST "" "#shared.*"
		S: * LIST (\Noselect \HasChildren) "." "#shared.bob@example test"
		S: * LIST (\HasNoChildren) "." "#shared.bob@example test.Projects"
		S: a OK LIST completed
		C: b SELECT "#shared.bob@example test.Diary"
		S: b NO Access denied for SELECT/EXAMINE on #shared.bob@example test.Diary (ACL "r" required)
		C: c SELECT "#shared.bob@example test.Projects"
		S: * FLAGS (\Draft \Answered \Flagged \Deleted \Seen \Recent)
		S: * OK [PERMANENTFLAGS (\* \Draft \Answered \Flagged \Deleted \Seen)] Limited
		S: * 1 EXISTS
		S: * 1 RECENT
	`)
	demo.ExpectMatch(`^\* OK \[UIDVALIDITY \d+\] Ok$`)
	demo.Transcript(`
		S: * OK [MYRIGHTS "lrs"] ACL
		S: c OK [READ-WRITE] Ok
		C: d FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])
		S: * 1 FETCH (FLAGS (\Recent) BODY[HEADER.FIELDS ("SUBJECT")] {17}
		S: Subject: plan
		S: 
		S: )
		S: * 1 FETCH (FLAGS (\Seen \Recent))
		S: d OK FETCH completed.
		C: e STORE 1 +FLAGS (\Flagged)
		S: * 1 FETCH (FLAGS (\Seen \Recent))
		S: e OK STORE completed.
		C: f MYRIGHTS "#shared.bob@example test.Diary"
		S: f NO Access denied for GETACL on #shared.bob@example test.Diary (ACL "a" required)
		C: g GETACL "#shared.bob@example test.Projects"
		S: g NO Access denied for GETACL on #shared.bob@example test.Projects (ACL "a" required)
		C: h LOGOUT
		S: * BYE Courier-IMAP server shutting down
		S: h OK LOGOUT completed
	`)
	names, err := os.ReadDir(filepath.Join(bobMD, ".Projects", "cur"))
	if err != nil || len(names) != 1 || !strings.HasSuffix(names[0].Name(), ":2,S") {
		t.Errorf("bob's message: %v %v (want \\Seen set by demo, nothing else)", names, err)
	}
	if _, err := os.Stat(filepath.Join(demoMD, "shared-folders")); err == nil {
		t.Error("virtual shared folders left files in demo's maildir")
	}
}
