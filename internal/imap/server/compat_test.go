package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"courier/internal/imap/server"
	"courier/internal/store"
)

// IMAP_EMPTYTRASH is read as Courier reads it and never refused: a bare number is the days
// for the trash folder, a list is FOLDER:DAYS, entries without ':' are skipped, days that
// are not a number (or 0) mean one day, a negative number means never.
// (conformance/imap-emptytrash-syntax.sh checks the session starts as Courier's does.)
func TestEmptyTrashSyntax(t *testing.T) {
	for _, tc := range []struct {
		trash, v string
		want     map[string]int
	}{
		{"", "7", map[string]int{"Trash": 7}},
		{"Deleted Items", "7", map[string]int{"Deleted Items": 7}},
		{"", " 30 ", map[string]int{"Trash": 30}},
		{"", "0", map[string]int{"Trash": 1}},
		{"", "x", map[string]int{"Trash": 1}},
		{"", "7days", map[string]int{"Trash": 7}},
		{"", "Trash:7,Sent:30", map[string]int{"Trash": 7, "Sent": 30}},
		{"", "Trash:7, Sent:30", map[string]int{"Trash": 7, "Sent": 30}},
		{"", "Trash,Sent:x", map[string]int{"Sent": 1}},
		{"", ",,Sent:1,", map[string]int{"Sent": 1}},
		{"", ":5,Trash:0", map[string]int{"Trash": 1}},
		{"", "Trash:-3,Sent:2", map[string]int{"Sent": 2}},
		{"", "-1", map[string]int{}},
	} {
		env := map[string]string{"IMAP_EMPTYTRASH": tc.v}
		if tc.trash != "" {
			env["IMAP_TRASHFOLDERNAME"] = tc.trash
		}
		set, err := server.SettingsFromEnv(env, nil)
		if err != nil {
			t.Errorf("IMAP_EMPTYTRASH=%q refused: %v", tc.v, err)
			continue
		}
		if !reflect.DeepEqual(set.EmptyTrash, tc.want) {
			t.Errorf("IMAP_EMPTYTRASH=%q (trash %q): %v, want %v", tc.v, tc.trash, set.EmptyTrash, tc.want)
		}
	}
}

// A bare number purges the trash folder that IMAP_TRASHFOLDERNAME names, and only it.
func TestEmptyTrashBareNumber(t *testing.T) {
	md, st := newMaildir(t, "INBOX.Deleted", "INBOX.Trash")
	for _, name := range []string{"INBOX.Deleted", "INBOX.Trash"} {
		mb, err := st.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mb.Append(strings.NewReader("Subject: a\n\na\n"), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
		mb.Close()
	}
	env := map[string]string{"IMAP_EMPTYTRASH": "7", "IMAP_TRASHFOLDERNAME": "Deleted"}
	session(t, st, md, time.Now().Add(6*24*time.Hour), env, "z LOGOUT")
	if n := count(t, filepath.Join(md, ".Deleted")); n != 1 {
		t.Fatalf("after 6 days Deleted holds %d, want 1", n)
	}
	session(t, st, md, time.Now().Add(8*24*time.Hour), env, "z LOGOUT")
	if n := count(t, filepath.Join(md, ".Deleted")); n != 0 {
		t.Errorf("after 8 days Deleted holds %d, want 0", n)
	}
	if n := count(t, filepath.Join(md, ".Trash")); n != 1 {
		t.Errorf("Trash, not the trash folder here, holds %d, want 1", n)
	}
}

// A missing folder is a bare NO, as in Courier, which sends none of RFC 5530's codes; a
// quota refusal is NO [ALERT] (conformance/imap-missing-folder.sh).
func TestStoreErrorsWithoutRFC5530Codes(t *testing.T) {
	md, st := newMaildir(t, "INBOX.Work", "INBOX.Other")
	msg := "Subject: x\n\n" + strings.Repeat("y", 30) + "\n"
	deliverTo(t, md, msg)
	// A 60-byte quota (Maildir++ maildirsize: the quota, then size and count lines) holding
	// the one message: a copy of it does not fit.
	q := fmt.Sprintf("60S\n%d 1\n", len(msg))
	if err := os.WriteFile(filepath.Join(md, "maildirsize"), []byte(q), 0o600); err != nil {
		t.Fatal(err)
	}
	out := session(t, st, md, time.Time{}, nil,
		"a STATUS INBOX.Nope (MESSAGES)",
		"b SELECT INBOX.Nope",
		"c EXAMINE INBOX.Nope",
		"d DELETE INBOX.Nope",
		"e RENAME INBOX.Work INBOX.Other",
		"f SELECT INBOX",
		"g COPY 1 INBOX.Work",
		"h COPY 1 INBOX.Nope",
		"z LOGOUT")
	for _, tag := range []string{"a", "b", "c", "d", "e"} {
		if !regexp.MustCompile(`(?m)^` + tag + ` NO [^[]`).MatchString(out) {
			t.Errorf("%s: want NO without a response code:\n%s", tag, out)
		}
	}
	if !regexp.MustCompile(`(?m)^g NO \[ALERT\] `).MatchString(out) {
		t.Errorf("COPY over quota: want NO [ALERT]:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^h NO \[TRYCREATE\] `).MatchString(out) {
		t.Errorf("COPY to a missing folder: want NO [TRYCREATE]:\n%s", out)
	}
}

// LIST says \Marked for INBOX while it holds a message without \Seen, else \Unmarked;
// other folders get neither unless IMAP_CHECK_ALL_FOLDERS is set. LSUB does the same for a
// subscribed INBOX (conformance/imap-list-marked.sh; the IMAP_CHECK_ALL_FOLDERS answers are
// those Courier gave for the same steps).
func TestListMarked(t *testing.T) {
	md, st := newMaildir(t, "INBOX.Work", "INBOX.Empty")
	out := session(t, st, md, time.Time{}, nil, `a LIST "" INBOX`, "z LOGOUT")
	expect(t, out, `* LIST (\Unmarked \HasChildren) "." "INBOX"`)

	deliverTo(t, md, "Subject: 1\n\none\n")
	deliverTo(t, filepath.Join(md, ".Work"), "Subject: w\n\nwork\n")
	out = session(t, st, md, time.Time{}, nil,
		`a LIST "" *`,
		"b SELECT INBOX",
		`c LIST "" INBOX`,
		`d STORE 1 +FLAGS (\Seen)`,
		`e LIST "" INBOX`,
		"f SUBSCRIBE INBOX",
		`g LSUB "" INBOX`,
		`h STORE 1 -FLAGS (\Seen)`,
		`i LSUB "" INBOX`,
		"z LOGOUT")
	expect(t, out,
		`* LIST (\Marked \HasChildren) "." "INBOX"`,
		`* LIST (\HasNoChildren) "." "INBOX.Work"`,
		`* LIST (\HasNoChildren) "." "INBOX.Empty"`,
		`* LIST (\Unmarked \HasChildren) "." "INBOX"`,
		`* LSUB (\Unmarked \HasNoChildren) "." "INBOX"`,
		`* LSUB (\Marked \HasNoChildren) "." "INBOX"`)
	if strings.Count(out, `* LIST (\Marked \HasChildren) "." "INBOX"`) != 2 {
		t.Errorf("SELECT took INBOX's \\Marked:\n%s", out)
	}

	env := map[string]string{"IMAP_CHECK_ALL_FOLDERS": "1"}
	out = session(t, st, md, time.Time{}, env,
		`a LIST "" *`,
		"b SELECT INBOX.Work",
		`c STORE 1 +FLAGS (\Seen)`,
		`d LIST "" INBOX.%`,
		"z LOGOUT")
	expect(t, out,
		`* LIST (\Marked \HasChildren) "." "INBOX"`,
		`* LIST (\Marked \HasNoChildren) "." "INBOX.Work"`,
		`* LIST (\Unmarked \HasNoChildren) "." "INBOX.Empty"`,
		`* LIST (\Unmarked \HasNoChildren) "." "INBOX.Work"`)
}

// DELETE and RENAME leave the subscriptions alone (RFC 3501 §6.3.6; Courier does too) and
// write no courierimapsubscribed when there was none (conformance/imap-subscribe-delete.sh).
func TestDeleteRenameKeepSubscriptions(t *testing.T) {
	md, st := newMaildir(t, "INBOX.A", "INBOX.B", "INBOX.C", "INBOX.C.Sub")
	subs := filepath.Join(md, "courierimapsubscribed")
	session(t, st, md, time.Time{}, nil, "a DELETE INBOX.A", "b RENAME INBOX.B INBOX.BB", "z LOGOUT")
	if _, err := os.Stat(subs); !os.IsNotExist(err) {
		t.Fatalf("DELETE or RENAME wrote courierimapsubscribed: %v", err)
	}
	out := session(t, st, md, time.Time{}, nil,
		"a SUBSCRIBE INBOX.C",
		"b SUBSCRIBE INBOX.C.Sub",
		"c SUBSCRIBE INBOX.BB",
		"d DELETE INBOX.C.Sub",
		"e RENAME INBOX.BB INBOX.B",
		`f LSUB "" INBOX.*`,
		"z LOGOUT")
	expect(t, out,
		`* LSUB (\HasChildren) "." "INBOX.C"`,
		`* LSUB (\HasNoChildren) "." "INBOX.C.Sub"`,
		`* LSUB (\HasNoChildren) "." "INBOX.BB"`)
	expectNot(t, out, `* LSUB (\HasNoChildren) "." "INBOX.B"`)
	got, err := st.Subscriptions()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"INBOX.BB", "INBOX.C", "INBOX.C.Sub"}; !reflect.DeepEqual(sorted(got), want) {
		t.Errorf("subscriptions %v, want %v", got, want)
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// SEARCH LARGER/SMALLER and SORT SIZE compare RFC822.SIZE, the size FETCH reports (RFC 3501
// §6.4.4, §6.4.5; RFC 5256 §3), taken from the store's size cache: a session that finds the
// sizes measured reads no message for them. Courier compares the LF file's size instead;
// LARGER 19 below is where it would differ, leaving out message 1, which it stores in 18
// octets and reports as 21 (conformance/imap-search-size.sh stays where the two agree).
func TestSearchSizeIsRFC822Size(t *testing.T) {
	md, st := newMaildir(t)
	deliverTo(t, md,
		"Subject: one\n\nabc\n",    // 18 bytes, RFC822.SIZE 21
		"Subject: two\n\nx\r",      // 16 bytes, RFC822.SIZE 17: a final bare CR is no octet
		"Subject: three\n\nabcdef") // 22 bytes, RFC822.SIZE 24
	var opens atomic.Int64
	cs := countingStore{st, &opens}
	out := session(t, cs, md, time.Time{}, nil,
		"a SELECT INBOX",
		"b FETCH 1:* (RFC822.SIZE)",
		"z LOGOUT")
	expect(t, out, "* 1 FETCH (RFC822.SIZE 21)", "* 2 FETCH (RFC822.SIZE 17)", "* 3 FETCH (RFC822.SIZE 24)")
	opens.Store(0)
	out = session(t, cs, md, time.Time{}, nil,
		"a SELECT INBOX",
		"b SEARCH LARGER 17",
		"c SEARCH SMALLER 18",
		"d SEARCH LARGER 19 SMALLER 22",
		"e SORT (SIZE) UTF-8 ALL",
		"f SORT (REVERSE SIZE) UTF-8 NOT LARGER 23",
		"z LOGOUT")
	expect(t, out,
		"* SEARCH 1 3", "* SEARCH 2", "* SEARCH 1",
		"* SORT 2 1 3", "* SORT 1 2")
	if n := opens.Load(); n != 0 {
		t.Errorf("SEARCH and SORT by size opened %d messages; the sizes were cached", n)
	}
}
