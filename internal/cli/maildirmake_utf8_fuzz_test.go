package cli

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzConvUTF8Parsers: folder-name conversion and the subscriptions file take any input
// without panicking; a converted name is valid UTF-8 and gains no '/' or NUL. (SqWebMail's
// .mailfilter parser has its own, internal/filter/sqwebmail.)
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
	})
}
