package cli

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzConvUTF8Parsers: folder-name conversion, the subscriptions file and SqWebMail's
// .mailfilter parser take any input without panicking; a converted name is valid UTF-8 and
// gains no '/' or NUL, and a mailfilter that parses is written back and parses again.
func FuzzConvUTF8Parsers(f *testing.F) {
	for _, s := range []string{"INBOX.R&AOk-sum&AOk-", "INBOX.&ZeVnLIqe-.x", "INBOX.&", "INBOX.a&b", "INBOX.&2D3eAA-",
		"INBOX.&AC8-", "#MFMAILDROP=2\n##Op:contains\n##Header:Subject\n##Value:x\n##Folder:.R&AOk-\n##Name:r1\n",
		"#MFMAILDROP=1\n##Op:anymessage\n##Folder:!a@b\n##Name:fw\n##From:x@y\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		// Names come from directory entries: no '/' or NUL; conversion must not make one.
		if to, ok := convertFolderNameUTF8(in); ok && to != in && !strings.ContainsAny(in, "/\x00") {
			if !utf8.ValidString(to) || strings.ContainsAny(to, "/\x00") {
				t.Fatalf("%q converted to %q", in, to)
			}
		}
		e := &Env{Stdout: &strings.Builder{}, Stderr: &strings.Builder{}}
		convertSubscriptions(e, []byte(in))
		rules, err := loadMailfilterRules([]byte(in))
		if err != nil {
			return
		}
		out := saveMailfilterRules(rules, "/home/u/Maildir", "u@example.test")
		if _, err := loadMailfilterRules(out); err != nil {
			t.Fatalf("%q parsed, was written as %q, which does not parse: %v", in, out, err)
		}
	})
}
