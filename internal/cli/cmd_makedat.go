package cli

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"

	"courier/internal/config/courierfmt"
	"courier/internal/filter/maildrop"
)

func init() {
	register(&Command{
		Name:  "makedat",
		Usage: "-src=textfile|dir -file=datfile [-tmp=tmpfile] [-hup=pidfile] [-cidr]",
		Short: "compile key<TAB>value lines into the .dat file maildrop's gdbm functions read",
		Link:  true,
		Run:   runMakedat,
	})
}

// maxCIDRKeys bounds the keys one -cidr netblock expands to.
const maxCIDRKeys = 65536

func runMakedat(e *Env) int {
	var src, file, tmp, hup string
	cidr := false
	args := e.Args
	// Courier's older form: makedat textfile tmpfile datfile
	if len(args) == 3 && !strings.HasPrefix(args[0], "-") {
		src, tmp, file = args[0], args[1], args[2]
		args = nil
	}
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "-src="):
			src = a[len("-src="):]
		case strings.HasPrefix(a, "-file="):
			file = a[len("-file="):]
		case strings.HasPrefix(a, "-tmp="):
			tmp = a[len("-tmp="):]
		case strings.HasPrefix(a, "-hup="):
			hup = a[len("-hup="):]
		case a == "-cidr":
			cidr = true
		default:
			return fail(e, "makedat", 1, "usage: makedat -src=textfile -file=datfile [-tmp=tmpfile] [-cidr]")
		}
	}
	if src == "" || file == "" {
		return fail(e, "makedat", 1, "usage: makedat -src=textfile -file=datfile [-tmp=tmpfile] [-cidr]")
	}
	var r io.Reader = e.Stdin
	if src != "-" {
		// a file, or a directory whose files are read in name order (Courier's makedat)
		lines, warns, err := courierfmt.ReadControl(src)
		if err != nil {
			return fail(e, "makedat", 1, "%v", err)
		}
		for _, w := range warns {
			fmt.Fprintf(e.Stderr, "makedat: %v\n", w)
		}
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(l.Text + "\n")
		}
		r = strings.NewReader(b.String())
	}
	m, err := readMakedatSource(r, src, cidr)
	if err != nil {
		return fail(e, "makedat", 1, "%v", err)
	}
	if err := maildrop.WriteDat(file, tmp, m, 0o644); err != nil {
		return fail(e, "makedat", 1, "%v", err)
	}
	if hup != "" {
		// -hup=FILE: the process whose pid FILE holds is told to reload
		if b, err := os.ReadFile(hup); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				syscall.Kill(pid, syscall.SIGHUP) //nolint:errcheck
			}
		}
	}
	return 0
}

// readMakedatSource reads "key<TAB>value" lines (value "1" when absent); blank lines and
// lines starting with # are skipped. With cidr, a key "a.b.c.d/n" becomes the dotted
// prefixes that maildrop's gdbmfetch(key, "I") tries for the addresses in the block.
func readMakedatSource(r io.Reader, name string, cidr bool) (map[string]string, error) {
	m := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "\t")
		if !ok || v == "" {
			v = "1"
		}
		k = strings.TrimSpace(k)
		if !cidr || !strings.Contains(k, "/") {
			m[k] = v
			continue
		}
		keys, err := cidrKeys(k)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		for _, key := range keys {
			m[key] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return m, nil
}

// cidrKeys expands an IPv4 netblock into octet-aligned prefixes: 10.0.0.0/8 is "10",
// 192.168.0.0/23 is "192.168.0" and "192.168.1".
func cidrKeys(s string) ([]string, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("%q: not an IPv4 netblock", s)
	}
	p = p.Masked()
	bits := p.Bits()
	octets := (bits + 7) / 8
	if octets == 0 {
		return nil, fmt.Errorf("%q: netblock too large", s)
	}
	count := 1 << ((octets*8 - bits) % 32)
	if count > maxCIDRKeys {
		return nil, fmt.Errorf("%q: netblock too large", s)
	}
	a := p.Addr().As4()
	base := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	step := uint32(1) << (32 - octets*8)
	var out []string
	for i := 0; i < count; i++ {
		v := base + uint32(i)*step
		parts := make([]string, octets)
		for j := 0; j < octets; j++ {
			parts[j] = strconv.Itoa(int(v >> (24 - 8*j) & 0xff))
		}
		out = append(out, strings.Join(parts, "."))
	}
	return out, nil
}
