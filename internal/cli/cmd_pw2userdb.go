package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

func init() {
	register(&Command{
		Name:  "pw2userdb",
		Usage: "[--passwd=FILE] [--shadow=FILE] [--noshadow] [--nouid] [--domain=DOMAIN]",
		Short: "print /etc/passwd and /etc/shadow in userdb format",
		Link:  true,
		Run:   runPw2userdb,
	})
}

func runPw2userdb(e *Env) int {
	passwd, shadow, domain := "/etc/passwd", "/etc/shadow", ""
	noshadow, nouid := false, false
	for _, a := range e.Args {
		n, v, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case n == "passwd" && v != "":
			passwd = v
		case n == "shadow" && v != "":
			shadow = v
		case n == "domain":
			domain = v
		case n == "noshadow":
			noshadow = true
		case n == "nouid":
			nouid = true
		default:
			return fail(e, "pw2userdb", 1, "Invalid options.")
		}
	}
	if domain != "" {
		domain = "@" + domain
	}
	type acct struct{ name, pw, uid, gid, gecos, home, shell string }
	var order []*acct
	byName := map[string]*acct{}
	f, err := os.Open(passwd)
	if err != nil {
		return fail(e, "pw2userdb", 1, "%v", err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		p := strings.Split(line, ":")
		for len(p) < 7 {
			p = append(p, "")
		}
		a := &acct{name: p[0], uid: p[2], gid: p[3], gecos: strings.ReplaceAll(p[4], "|", "."), home: p[5], shell: p[6]}
		if p[1] != "x" {
			a.pw = p[1]
		}
		if byName[a.name] == nil {
			order = append(order, a)
		}
		byName[a.name] = a
	}
	f.Close()
	if st, err := os.Stat(shadow); err == nil && st.Mode().IsRegular() && !noshadow {
		sf, err := os.Open(shadow)
		if err != nil {
			return fail(e, "pw2userdb", 1, "%v", err)
		}
		sc := bufio.NewScanner(sf)
		for sc.Scan() {
			p := strings.Split(sc.Text(), ":")
			if strings.HasPrefix(p[0], "#") || len(p) < 2 {
				continue
			}
			if a := byName[p[0]]; a != nil {
				a.pw = p[1]
			}
		}
		sf.Close()
	}
	w := bufio.NewWriter(e.Stdout)
	defer w.Flush()
	for _, a := range order {
		fmt.Fprintf(w, "%s%s\tuid=%s|gid=%s|home=%s", a.name, domain, a.uid, a.gid, a.home)
		if a.shell != "" {
			fmt.Fprintf(w, "|shell=%s", a.shell)
		}
		if a.pw != "" {
			fmt.Fprintf(w, "|systempw=%s", a.pw)
		}
		if a.gecos != "" {
			fmt.Fprintf(w, "|gecos=%s", a.gecos)
		}
		fmt.Fprintln(w)
		if !nouid {
			fmt.Fprintf(w, "%s=\t%s\n", a.uid, a.name)
		}
	}
	return 0
}
