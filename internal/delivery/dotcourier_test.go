package delivery

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"courier/internal/queue"
	"courier/internal/store/maildir"
)

func TestParseInstructions(t *testing.T) {
	got := parseInstructions([]byte("# comment\n\n./Maildir/\n/var/mail/u\n| prog a \\\n  b\n|| dyn\n&a@x, <b@y> ,c\n!d@z\n  \n"))
	want := []instruction{
		{kind: instrMailbox, text: "./Maildir/"},
		{kind: instrMailbox, text: "/var/mail/u"},
		{kind: instrProgram, text: "prog a   b"},
		{kind: instrDynamic, text: "dyn"},
		{kind: instrForward, addrs: []string{"a@x", "b@y", "c"}},
		{kind: instrForward, addrs: []string{"d@z"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestFindExtFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{".courier-foo:bar", ".courier-list-default", ".courier-default"} {
		write(t, dir, n, "x\n")
	}
	for _, tc := range []struct{ ext, file, def string }{
		{"Foo.Bar", ".courier-foo:bar", ""},
		{"list-a-b", ".courier-list-default", "a-b"},
		{"list", ".courier-default", "list"},
		{"other-x", ".courier-default", "other-x"},
	} {
		p, def, err := findExtFile(dir, tc.ext)
		if err != nil || filepath.Base(p) != tc.file || def != tc.def {
			t.Errorf("%s: %s %q %v; want %s %q", tc.ext, filepath.Base(p), def, err, tc.file, tc.def)
		}
	}
	os.Remove(filepath.Join(dir, ".courier-default"))
	for _, ext := range []string{"other", "../../etc/passwd", "a/b", ""} {
		if _, _, err := findExtFile(dir, ext); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%q: %v, want not found", ext, err)
		}
	}
}

// TestDotCourier drives .courier files: Maildir, mbox (From_ and >From quoting), a
// program with Courier's environment, exit codes 99 (stop), 70 and 75, dynamic
// instructions, forwarding, a file with no instructions, a missing extension file, one
// writable by others, and DEFAULTDELIVERY.
func TestDotCourier(t *testing.T) {
	home := t.TempDir()
	if err := maildir.Create(filepath.Join(home, "Maildir"), maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	if err := maildir.Create(filepath.Join(home, "Other"), maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var forwarded []string
	acc := accounts{"u@x.test": {Address: "u@x.test", Home: home}}
	l := NewLocal(LocalOptions{Auth: acc, Forward: func(_ context.Context, m *queue.Message, i int, addrs []string) error {
		mu.Lock()
		defer mu.Unlock()
		forwarded = append(forwarded, m.Env.Rcpts[i].Addr+"→"+strings.Join(addrs, ","))
		return nil
	}})
	ctx := context.Background()
	rc := func(ext string) queue.Recipient {
		addr := "u@x.test"
		if ext != "" {
			addr = "u-" + ext + "@x.test"
		}
		return queue.Recipient{Addr: addr, Local: true, Account: "u@x.test", Ext: ext}
	}
	wr := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(home, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const msg = "Subject: dot\n\nFrom the start\n>From quoted\nend\n"
	deliver := func(r queue.Recipient) queue.Result {
		t.Helper()
		m := queued(t, msg, r)
		return l.Deliver(ctx, m, 0)
	}

	wr(".courier", "./Maildir/\n./mbox\n| echo \"$RECIPIENT|$LOCAL|$HOST|$EXT|$DEFAULT|$SENDER\" > env.txt; cat > stdin.txt\n")
	if res := deliver(rc("")); res.Outcome != queue.Delivered {
		t.Fatalf(".courier: %v", res)
	}
	if ents, _ := os.ReadDir(filepath.Join(home, "Maildir", "new")); len(ents) != 1 {
		t.Errorf("Maildir holds %d", len(ents))
	}
	mbox, _ := os.ReadFile(filepath.Join(home, "mbox"))
	if !strings.HasPrefix(string(mbox), "From s@x.test ") || !strings.Contains(string(mbox), "\nReturn-Path: <s@x.test>\nDelivered-To: u@x.test\nSubject: dot\n\n>From the start\n>>From quoted\nend\n\n") {
		t.Errorf("mbox:\n%s", mbox)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "env.txt")); string(b) != "u@x.test|u|x.test|||s@x.test\n" {
		t.Errorf("environment: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "stdin.txt")); string(b) != msg {
		t.Errorf("the program read %q (Courier gives it without Return-Path/Delivered-To)", b)
	}

	wr(".courier-list-default", "| echo \"$EXT $DEFAULT $EXT2\" > list.txt; exit 99\n./Maildir/\n")
	before, _ := os.ReadDir(filepath.Join(home, "Maildir", "new"))
	if res := deliver(rc("list-a-b")); res.Outcome != queue.Delivered {
		t.Fatalf("exit 99: %v", res)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "list.txt")); string(b) != "list-a-b a-b a-b\n" {
		t.Errorf("list.txt %q", b)
	}
	if after, _ := os.ReadDir(filepath.Join(home, "Maildir", "new")); len(after) != len(before) {
		t.Error("instructions after an exit 99 ran")
	}

	for code, want := range map[int]queue.Outcome{70: queue.Failed, 67: queue.Failed, 75: queue.Retry, 1: queue.Retry} {
		wr(".courier-code", fmt.Sprintf("| exit %d\n", code))
		if res := deliver(rc("code")); res.Outcome != want {
			t.Errorf("exit %d: %v, want %v", code, res, want)
		}
	}

	wr(".courier-dyn", "|| echo ./Other/\n")
	if res := deliver(rc("dyn")); res.Outcome != queue.Delivered {
		t.Fatalf("dynamic: %v", res)
	}
	if ents, _ := os.ReadDir(filepath.Join(home, "Other", "new")); len(ents) != 1 {
		t.Errorf("dynamic instructions delivered %d into Other", len(ents))
	}
	// || whose output is || again, without end: stopped at the depth limit.
	wr("deep.sh", "echo '|| sh ./deep.sh'\n")
	wr(".courier-deep", "|| sh ./deep.sh\n")
	if res := deliver(rc("deep")); res.Outcome != queue.Failed || !strings.Contains(res.Err.Error(), "nest too deeply") {
		t.Errorf("endless ||: %v", res)
	}

	wr(".courier-fwd", "a@far.test, b@x.test\n")
	if res := deliver(rc("fwd")); res.Outcome != queue.Delivered || len(forwarded) != 1 || forwarded[0] != "u-fwd@x.test→a@far.test,b@x.test" {
		t.Errorf("forward: %v %v", res, forwarded)
	}

	wr(".courier-void", "# nothing\n")
	if res := deliver(rc("void")); res.Outcome != queue.Delivered {
		t.Errorf("no instructions: %v", res)
	}
	if res := deliver(rc("missing")); res.Outcome != queue.Failed || !strings.HasPrefix(res.Err.Error(), "5.1.1") {
		t.Errorf("missing .courier-missing: %v", res)
	}
	wr(".courier-open", "./Maildir/\n")
	os.Chmod(filepath.Join(home, ".courier-open"), 0o666)
	if res := deliver(rc("open")); res.Outcome != queue.Retry {
		t.Errorf("world-writable file: %v", res)
	}

	// No .courier: DEFAULTDELIVERY, for an account without a MAILDIR of its own.
	os.Remove(filepath.Join(home, ".courier"))
	l.o.DefaultDelivery = "./mbox2"
	if res := deliver(rc("")); res.Outcome != queue.Delivered {
		t.Fatal(res)
	}
	if _, err := os.Stat(filepath.Join(home, "mbox2")); err != nil {
		t.Errorf("DEFAULTDELIVERY not used: %v", err)
	}
}

// TestRouteExtensionsAndAliasdir: user-ext is accepted at RCPT only when the account has a
// matching .courier file; aliasdir catches local addresses that are no account.
func TestRouteExtensionsAndAliasdir(t *testing.T) {
	dir := t.TempDir()
	home := t.TempDir()
	write(t, dir, "me", "mx.example.test\n")
	write(t, dir, "locals", "localhost\n")
	write(t, dir, "hosteddomains", "example.test\n")
	write(t, dir, "aliasdir/.courier-sales-default", "| true\n")
	write(t, home, ".courier-lists-default", "./Maildir/\n")
	write(t, home, ".courier-news", "./Maildir/\n")
	acc := accounts{"demo@example.test": {Address: "demo@example.test", Home: home}, "bob": {Address: "bob", Home: home},
		"my-name": {Address: "my-name", Home: t.TempDir()}}
	r := NewResolver(ResolverOptions{ConfigDir: dir, Auth: acc})
	for addr, want := range map[string]string{
		"demo-news@example.test":     "demo@example.test/news/false",
		"demo-lists-go@example.test": "demo@example.test/lists-go/false",
		"demo-other@example.test":    "unknown",
		"bob-News@localhost":         "bob/News/false",
		"my-name@localhost":          "my-name//false",
		"sales-eu@localhost":         "/sales-eu/true",
		"sales-eu@example.test":      "unknown", // aliasdir is for local domains
		"nobody@localhost":           "unknown",
		".hidden@localhost":          "unknown",
	} {
		rs, err := r.Route(context.Background(), addr, false)
		got := "unknown"
		if err == nil && len(rs) == 1 {
			got = fmt.Sprintf("%s/%s/%v", rs[0].Account, rs[0].Ext, rs[0].AliasDir)
		} else if !errors.Is(err, ErrUnknownUser) {
			got = fmt.Sprint(rs, err)
		}
		if got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
}

// TestRouteAliasForms: an alias naming itself reaches the account too; a program or
// mailbox alias becomes that instruction; "@domain: user" maps foo@domain to user-foo.
func TestRouteAliasForms(t *testing.T) {
	dir := t.TempDir()
	home := t.TempDir()
	write(t, dir, "me", "mx.test\n")
	write(t, dir, "locals", "mx.test\nlocalhost\n")
	write(t, dir, "aliases", "larry: larry, moe\nrun: | /usr/bin/prog arg\nbox: /var/mail/box\n@virt.test: larry\n")
	write(t, home, ".courier-info", "./Maildir/\n")
	acc := accounts{"larry": {Address: "larry", Home: home}, "moe": {Address: "moe"}}
	r := NewResolver(ResolverOptions{ConfigDir: dir, Auth: acc})
	for addr, want := range map[string]string{
		"larry@mx.test":     "larry@mx.test/larry//;moe@mx.test/moe//",
		"larry@localhost":   "larry@localhost/larry//;moe@mx.test/moe//",
		"run@mx.test":       "run@mx.test///| /usr/bin/prog arg",
		"box@localhost":     "box@localhost////var/mail/box",
		"info@virt.test":    "larry-info@mx.test/larry/info/",
		"nothing@virt.test": "unknown",
	} {
		rs, err := r.Route(context.Background(), addr, false)
		var parts []string
		for _, x := range rs {
			parts = append(parts, fmt.Sprintf("%s/%s/%s/%s", x.Addr, x.Account, x.Ext, x.Instr))
		}
		got := strings.Join(parts, ";")
		if errors.Is(err, ErrUnknownUser) {
			got = "unknown"
		} else if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
}

// TestCompiledLists: once makehosteddomains / makeacceptmailfor compiled their lists, the
// compiled ones rule (source edits wait for the next compile, as with Courier); a bad line
// is refused with its place.
func TestCompiledLists(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "me", "mx.test\n")
	write(t, dir, "hosteddomains", "one.test\n")
	write(t, dir, "esmtpacceptmailfor.dir/a", "backup-one.test\n")
	acc := accounts{"u@one.test": {Address: "u@one.test"}, "u@two.test": {Address: "u@two.test"}}
	route := func(addr string) string {
		r := NewResolver(ResolverOptions{ConfigDir: dir, Auth: acc})
		rs, err := r.Route(context.Background(), addr, false)
		if err != nil {
			return "refused"
		}
		return fmt.Sprint(rs[0].Local)
	}
	if route("u@one.test") != "true" || route("x@backup-one.test") != "false" || route("u@two.test") != "refused" {
		t.Fatal("sources not read")
	}
	write(t, dir, "hosteddomains", "one.test\ntwo.test\n")
	write(t, dir, "esmtpacceptmailfor.dir/a", "backup-two.test\n")
	if _, err := CompileList(filepath.Join(dir, "hosteddomains"), filepath.Join(dir, "hosteddomains.dat"), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := CompileList(filepath.Join(dir, "esmtpacceptmailfor.dir"), filepath.Join(dir, "esmtpacceptmailfor.dat"), 1); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "hosteddomains", "one.test\n") // not compiled: no effect
	if route("u@two.test") != "true" || route("x@backup-two.test") != "false" || route("x@backup-one.test") != "refused" {
		t.Errorf("compiled lists not used")
	}
	write(t, dir, "bad", "ok.test\nnot a domain at all\n")
	if _, err := CompileList(filepath.Join(dir, "bad"), filepath.Join(dir, "bad.dat"), 2); err == nil || !strings.Contains(err.Error(), "bad:2:") {
		t.Errorf("bad line: %v", err)
	}
}

// TestDeliverquotaInProcess: a "| deliverquota ./Maildir" line (Courier's way to get quota
// warnings) runs our deliverquota in-process from the account's home; no deliverquota
// program exists on the PATH, so a shell would have failed with 127.
func TestDeliverquotaInProcess(t *testing.T) {
	home := t.TempDir()
	md := filepath.Join(home, "Maildir")
	if err := maildir.Create(md, maildir.Private, true); err != nil {
		t.Fatal(err)
	}
	acc := accounts{"u@x.test": {Address: "u@x.test", Home: home}}
	l := NewLocal(LocalOptions{Auth: acc})
	r := queue.Recipient{Addr: "u-dq@x.test", Local: true, Account: "u@x.test", Ext: "dq"}
	if err := os.WriteFile(filepath.Join(home, ".courier-dq"), []byte("| deliverquota ./Maildir\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := l.Deliver(context.Background(), queued(t, "Subject: dq\n\nbody\n", r), 0); res.Outcome != queue.Delivered {
		t.Fatalf("deliverquota line: %v", res)
	}
	ents, _ := os.ReadDir(filepath.Join(md, "new"))
	if len(ents) != 1 {
		t.Fatalf("Maildir/new holds %d messages, want 1", len(ents))
	}
	if b, _ := os.ReadFile(filepath.Join(md, "new", ents[0].Name())); string(b) != "Subject: dq\n\nbody\n" {
		t.Errorf("delivered %q", b)
	}
	// over quota: deliverquota exits 75, a temporary failure as Courier treats it
	if err := os.WriteFile(filepath.Join(home, ".courier-dq"), []byte("| deliverquota ./Maildir 10S\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := l.Deliver(context.Background(), queued(t, "Subject: big\n\n"+strings.Repeat("x", 100)+"\n", r), 0); res.Outcome != queue.Retry {
		t.Fatalf("over quota: %v, want a retry", res)
	}
}
