package pipe

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"courier/internal/auth"
	"courier/internal/auth/pwhash"
)

// The test binary doubles as the authpipe program when AUTHPIPE_HELPER is
// set (to the behaviour wanted).
func TestMain(m *testing.M) {
	if mode := os.Getenv("AUTHPIPE_HELPER"); mode != "" {
		helper(mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper is a small authpipe program: one account, joe / "joe pw", and a
// cleartext secret for CRAM.
func helper(mode string) {
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	account := fmt.Sprintf("UID=1000\nGID=1001\nHOME=/home/joe\nADDRESS=joe\nNAME=pid %d\nMAILDIR=/home/joe/Maildir\n"+
		"OPTIONS=disableimap=0,group=a\n.\n", os.Getpid())
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch mode {
		case "hang":
			time.Sleep(time.Hour)
		case "garbage":
			out.WriteString("HELLO\n")
			out.Flush()
			continue
		case "die":
			os.Exit(3)
		}
		switch {
		case strings.HasPrefix(line, "PRE . "):
			f := strings.SplitN(line, " ", 4)
			if len(f) == 4 && f[3] == "joe" {
				out.WriteString(account)
			} else {
				out.WriteString("FAIL\n")
			}
		case strings.HasPrefix(line, "AUTH "):
			n, _ := strconv.Atoi(line[5:])
			buf := make([]byte, n)
			io.ReadFull(in, buf)
			f := strings.Split(string(buf), "\n")
			ok := false
			switch {
			case len(f) >= 4 && f[1] == "login":
				ok = f[2] == "joe" && f[3] == "joe pw"
			case len(f) >= 4 && f[1] == "cram-md5":
				ch, _ := base64.StdEncoding.DecodeString(f[2])
				resp, _ := base64.StdEncoding.DecodeString(f[3])
				user, hexd, _ := strings.Cut(string(resp), " ")
				d, _ := pwhash.CRAMDigest(pwhash.HMACMD5, "joe pw", ch)
				ok = user == "joe" && pwhash.VerifyCRAM(d, hexd)
			}
			if ok {
				out.WriteString(account)
			} else {
				out.WriteString("FAIL\n")
			}
		case strings.HasPrefix(line, "PASSWD "):
			f := strings.Split(line[7:], "\t")
			if len(f) == 4 && f[1] == "joe" && f[2] == "joe pw" {
				out.WriteString("OK\n")
			} else {
				out.WriteString("FAIL\n")
			}
		case line == "ENUMERATE":
			out.WriteString("# authpipe\n\njoe\t1000\t1001\t/home/joe\t/home/joe/Maildir\tgroup=a\n" +
				"ann\tann\t100\t/home/ann\t\t\nbob\t1002\t100\t/home/bob\n.\n")
		default:
			out.WriteString("FAIL\n")
		}
		out.Flush()
		if mode == "once" {
			return
		}
	}
}

func newModule(t *testing.T, mode string) *Module {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AUTHPIPE_HELPER", mode)
	m := New(exe)
	m.Timeout = 2 * time.Second
	t.Cleanup(func() { m.Close() })
	return m
}

func login(user, pw string) *auth.Request {
	return &auth.Request{Service: "imap", Mech: auth.MechLogin, User: user, Password: pw}
}

func TestPipe(t *testing.T) {
	m := newModule(t, "normal")
	ctx := context.Background()
	a, err := m.Lookup(ctx, "imap", "joe")
	if err != nil {
		t.Fatal(err)
	}
	pid := a.FullName
	want := &auth.Account{Address: "joe", UID: 1000, GID: 1001, Home: "/home/joe", FullName: pid,
		Maildir: "/home/joe/Maildir", Options: auth.Options{{Name: "disableimap", Value: "0"}, {Name: "group", Value: "a"}},
		Module: ModuleName}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("Lookup =\n%+v\nwant\n%+v", a, want)
	}
	if _, err := m.Lookup(ctx, "imap", "nobody"); !errors.Is(err, auth.ErrNoUser) {
		t.Errorf("unknown: %v", err)
	}
	a, err = m.Authenticate(ctx, login("joe", "joe pw"))
	if err != nil || a.ClearPasswd != "joe pw" {
		t.Fatalf("login = %+v, %v", a, err)
	}
	if _, err := m.Authenticate(ctx, login("joe", "bad")); !errors.Is(err, auth.ErrBadPassword) {
		t.Errorf("bad password: %v", err)
	}
	ch := []byte("<9@x>")
	d, _ := pwhash.CRAMDigest(pwhash.HMACMD5, "joe pw", ch)
	if _, err := m.Authenticate(ctx, &auth.Request{Service: "imap", Mech: auth.MechCRAMMD5, User: "joe", Challenge: ch,
		Response: fmt.Sprintf("%x", d)}); err != nil {
		t.Errorf("CRAM: %v", err)
	}
	if err := m.ChangePassword(ctx, "imap", "joe", "joe pw", "new"); err != nil {
		t.Errorf("passwd: %v", err)
	}
	if err := m.ChangePassword(ctx, "imap", "joe", "bad", "new"); !errors.Is(err, auth.ErrBadPassword) {
		t.Errorf("passwd bad: %v", err)
	}
	var got []string
	if err := m.Enumerate(ctx, func(a *auth.Account) error {
		got = append(got, fmt.Sprintf("%s %d %s %d %s %s %s", a.Address, a.UID, a.SysUser, a.GID, a.Home, a.Maildir, a.Options))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantEnum := []string{"joe 1000  1001 /home/joe /home/joe/Maildir group=a", "ann 0 ann 100 /home/ann  ",
		"bob 1002  100 /home/bob  "}
	if !reflect.DeepEqual(got, wantEnum) {
		t.Errorf("enumerate = %q", got)
	}
	// Still the same long-lived program.
	if a, err := m.Lookup(ctx, "imap", "joe"); err != nil || a.FullName != pid {
		t.Errorf("program restarted: %+v %v (was %s)", a, err, pid)
	}
	// Stopping an enumeration early restarts the program.
	stop := errors.New("stop")
	if err := m.Enumerate(ctx, func(*auth.Account) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("enumerate stop: %v", err)
	}
	if a, err := m.Lookup(ctx, "imap", "joe"); err != nil || a.FullName == pid {
		t.Errorf("after abandoned enumeration: %+v %v", a, err)
	}
	// Lines the protocol cannot carry never reach the program.
	if _, err := m.Lookup(ctx, "imap", "joe\nENUMERATE"); !errors.Is(err, auth.ErrNoUser) {
		t.Errorf("newline in user: %v", err)
	}
	if _, err := m.Authenticate(ctx, login("joe", "joe pw\nx")); !errors.Is(err, auth.ErrBadPassword) {
		t.Errorf("newline in password: %v", err)
	}
}

func TestPipeRestart(t *testing.T) {
	m := newModule(t, "once")
	ctx := context.Background()
	var pids []string
	for i := 0; i < 3; i++ {
		a, err := m.Lookup(ctx, "imap", "joe")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		pids = append(pids, a.FullName)
		time.Sleep(20 * time.Millisecond)
	}
	if pids[0] == pids[1] || pids[1] == pids[2] {
		t.Errorf("not restarted: %q", pids)
	}
}

func TestPipeFailures(t *testing.T) {
	for _, mode := range []string{"hang", "garbage", "die"} {
		t.Run(mode, func(t *testing.T) {
			m := newModule(t, mode)
			m.Timeout = 300 * time.Millisecond
			start := time.Now()
			if _, err := m.Authenticate(context.Background(), login("joe", "joe pw")); !errors.Is(err, auth.ErrTempFail) {
				t.Errorf("err = %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if _, err := m.Lookup(ctx, "imap", "joe"); !errors.Is(err, auth.ErrTempFail) {
				t.Errorf("second request: %v", err)
			}
		})
	}
	m := New("/nonexistent/authProg")
	if _, err := m.Lookup(context.Background(), "imap", "joe"); !errors.Is(err, auth.ErrTempFail) {
		t.Errorf("missing program: %v", err)
	}
	// A temporary failure stops the chain.
	if _, err := auth.NewChain(nil, m).Authenticate(context.Background(), login("joe", "x")); !errors.Is(err, auth.ErrTempFail) {
		t.Errorf("chain: %v", err)
	}
}

func TestParseAccount(t *testing.T) {
	for in, want := range map[string]error{
		"FAIL\n":                          auth.ErrNoUser,
		"UID=1\nGID=1\nHOME=/h\n.\n":      nil,
		"USERNAME=x\nGID=1\nHOME=/h\n.\n": nil,
		"UID=1\nGID=1\n.\n":               ErrProtocol,
		"HOME=/h\n.\n":                    ErrProtocol,
		"UID=x\nHOME=/h\n.\n":             ErrProtocol,
		"UID=1\nHOME=/h\nbogus\n.\n":      ErrProtocol,
		"UID=1\nHOME=/h\n":                io.EOF,
		"":                                io.EOF,
		strings.Repeat("X=1\n", MaxReplyLines+1) + "UID=1\nHOME=/\n.\n": ErrProtocol,
		"UID=1\nHOME=" + strings.Repeat("h", MaxLine+1) + "\n.\n":       ErrProtocol,
	} {
		_, err := ParseAccount(bufio.NewReader(strings.NewReader(in)))
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("ParseAccount(%.40q) err = %v, want %v", in, err, want)
		}
	}
}

func FuzzParseAccount(f *testing.F) {
	for _, s := range []string{
		"FAIL\n", "UID=1\nGID=1\nHOME=/h\nOPTIONS=a=b,c\n.\n", "USERNAME=\nHOME=\n.\n", "=\n.\n",
		"UID=-1\n", "\r\n.\r\n", "UID=99999999999999999999\nHOME=/\n.\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAccount(bufio.NewReaderSize(strings.NewReader(string(data)), 16))
		if err == nil && (a.UID < 0 || a.GID < 0) {
			t.Fatalf("negative id: %+v", a)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if a, err := ParseEnumerated(line); err == nil && (a.Address == "" || a.GID < 0) {
				t.Fatalf("bad enumerated %+v", a)
			}
		}
		_ = ParseStatus(bufio.NewReader(strings.NewReader(string(data))))
	})
}
