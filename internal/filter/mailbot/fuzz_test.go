package mailbot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzBuild: any message, in every reply format, gives a reply, a reason for none, or an
// error — never a panic or a hang.
func FuzzBuild(f *testing.F) {
	for _, s := range []string{
		sample,
		"From: a@b\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9\n--x\nContent-Type: message/rfc822\n\nSubject: in\n\nbody\n--x--\n",
		"From: a@b\nContent-Type: multipart/digest; boundary=\"q\"\nMime-Version: 1.0\n\n--q\n\nSubject: d\n\nx\n--q",
		"From: =?utf-8?B?w6k=?= <a@b>\nSubject: =?x-bogus?Q?a?=\nbogus line\n\n",
		"From: a@b\nContent-Type: text/plain; format=flowed; delsp=yes\n\n> > q \nline \n-- \nsig\n",
	} {
		f.Add(s, uint8(0))
	}
	dir := f.TempDir()
	tmpl := filepath.Join(dir, "t")
	os.WriteFile(tmpl, []byte("away\n"), 0o600) //nolint:errcheck
	draft := filepath.Join(dir, "draft")
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(draft, sub), 0o700) //nolint:errcheck
	}
	os.WriteFile(filepath.Join(draft, "cur", "1.M1P1.h:2,S"), []byte("Content-Type: text/plain\n\ndraft\n"), 0o600) //nolint:errcheck
	formats := [][]string{
		{"-T", "reply"}, {"-T", "replyall"}, {"-M", "dsn@here"}, {"-T", "forward"}, {"-T", "forwardatt"},
		{"-T", "feedback", "-R", "abuse"}, {"-T", "replyfeedback", "-R", "other", "-a"}, {"-T", "replydraft", "-l", draft},
	}
	f.Fuzz(func(t *testing.T, msg string, which uint8) {
		if len(msg) > 1<<16 || strings.Count(msg, "\n") > 2000 {
			return
		}
		args := append([]string{"-t", tmpl, "-n"}, formats[int(which)%len(formats)]...)
		o, err := ParseArgs(args, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		Build(o, []byte(msg), env(map[string]string{"SENDER": "s@x"}), time.Unix(1700000000, 0)) //nolint:errcheck
	})
}
