package smap

import (
	"regexp"
	"strings"
	"testing"
)

// TestNewUIDsAreFetchUIDs: the UID "* ADD" prints for a stored message, and the NEWUID of
// "* COPY" for a copied or moved one, is the UID a later FETCH shows for that message: the
// name of its file without the flags, as in Courier (testdata/basic.golden, folders.golden).
// Before, a message stored through a view was not in it yet, so ADD printed a
// "<uidvalidity>.<uid>" form that no FETCH ever showed.
func TestNewUIDsAreFetchUIDs(t *testing.T) {
	md := makeMaildir(t)
	in := "CREATE INBOX Work\n" +
		"OPEN INBOX\n" +
		"ADD FOLDER INBOX \"\" FLAGS=SEEN\nADD {.}\nSubject: into the open folder\n\nx\n.\n" +
		"NOOP\n" +
		"FETCH 5 UID\n" +
		"MOVE 1 \"\" INBOX Work\n" +
		"COPY 1-2 \"\" INBOX Work\n" +
		"ADD FOLDER INBOX Work \"\"\nADD {.}\nSubject: into Work\n\ny\n.\n" +
		"OPEN INBOX Work\n" +
		"FETCH 1-4 UID\n" +
		"LOGOUT\n"
	out := run(t, md, []byte(in), nil)

	added := regexp.MustCompile(`(?m)^\* ADD "UID=([^"]*)"$`).FindAllStringSubmatch(out, -1)
	copied := regexp.MustCompile(`(?m)^\* COPY \d+ "NEWUID=([^"]*)"$`).FindAllStringSubmatch(out, -1)
	fetched := regexp.MustCompile(`(?m)^\* FETCH (\d+) .*"UID=([^"]*)"`).FindAllStringSubmatch(out, -1)
	if len(added) != 2 || len(copied) != 3 || len(fetched) != 5 {
		t.Fatalf("want 2 ADD, 3 COPY and 5 FETCH lines:\n%s", out)
	}
	// The first FETCH is of the message added to the open folder.
	if added[0][1] != fetched[0][2] {
		t.Errorf("ADD printed UID %q, FETCH shows %q", added[0][1], fetched[0][2])
	}
	// The four in Work: what MOVE, COPY and the second ADD printed, in that order.
	inWork := map[string]bool{}
	for _, f := range fetched[1:] {
		inWork[f[2]] = true
	}
	for _, u := range []string{copied[0][1], copied[1][1], copied[2][1], added[1][1]} {
		if !inWork[u] {
			t.Errorf("UID %q printed by ADD/COPY is not shown by FETCH in Work:\n%s", u, out)
		}
	}
	// A move keeps the file's name, so its UID.
	if want := "1600000001.M1P1.test,S=50"; copied[0][1] != want {
		t.Errorf("MOVE printed NEWUID %q, want %q", copied[0][1], want)
	}
	// Each is a file of the folder.
	files := names(t, md+"/.Work")
	for u := range inWork {
		if !files[u] {
			t.Errorf("UID %q names no file of Work (%v)", u, files)
		}
	}
	if strings.Count(out, "-ERR") != 0 {
		t.Errorf("unexpected refusal:\n%s", out)
	}
}
