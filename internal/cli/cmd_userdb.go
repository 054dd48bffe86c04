package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"courier/internal/auth/userdb"
)

// authConfigDir takes a leading "-c DIR" (or "-c=DIR") off args and returns
// the configuration directory: that, else $COURIER_CONFIG, else /etc/courier.
func authConfigDir(e *Env, args []string) (string, []string) {
	dir := e.Env("COURIER_CONFIG")
	if len(args) >= 2 && args[0] == "-c" {
		dir, args = args[1], args[2:]
	} else if len(args) >= 1 && strings.HasPrefix(args[0], "-c=") {
		dir, args = strings.TrimPrefix(args[0], "-c="), args[1:]
	}
	if dir == "" {
		dir = "/etc/courier"
	}
	return dir, args
}

func init() {
	register(&Command{
		Name:  "userdb",
		Usage: "[-c DIR] [path/.../ | -f file] name set field=value... | unset field... | del;  -show [path | -f file] [name]",
		Short: "edit entries of the userdb text file (run makeuserdb afterwards)",
		Link:  true,
		Run:   runUserdb,
	})
}

// userdbUsage is the real tool's usage text.
func userdbUsage(e *Env) int {
	w := e.Stdout
	fmt.Fprintf(w, "Usage: userdb [path/.../ | -f file ]name set field=value field=value...\n")
	fmt.Fprintf(w, "       userdb [path/.../ | -f file ]name unset field field...\n")
	fmt.Fprintf(w, "       userdb [path/.../ | -f file ]name del\n")
	fmt.Fprintf(w, "       userdb -show [path/... | -f file ] [name]\n")
	return 1
}

func runUserdb(e *Env) int {
	dir, args := authConfigDir(e, e.Args)
	file := filepath.Join(dir, "userdb")
	shift := func() (string, bool) {
		if len(args) == 0 {
			return "", false
		}
		s := args[0]
		args = args[1:]
		return s, true
	}
	name, _ := shift()
	show := false
	if name == "-show" {
		show = true
		name, _ = shift()
	}
	if name == "-f" {
		f, ok := shift()
		if !ok {
			return userdbUsage(e)
		}
		file = f
		name, _ = shift()
	} else if i := strings.LastIndexByte(name, '/'); i >= 0 {
		file = filepath.Join(file, name[:i])
		name = name[i+1:]
	}
	if st, err := os.Lstat(file); err == nil && st.Mode()&os.ModeSymlink != 0 {
		if t, err := filepath.EvalSymlinks(file); err == nil {
			file = t
		}
	}
	if show {
		return userdbShow(e, file, name)
	}
	verb, _ := shift()
	if verb == "" || name == "" {
		return userdbUsage(e)
	}
	for _, a := range args {
		if strings.ContainsAny(a, "|\n") {
			return fail(e, "userdb", 255, "Invalid field or value.")
		}
	}
	switch verb {
	case "set":
		return userdbSet(e, file, name, args)
	case "unset":
		if len(args) == 0 {
			return 0
		}
		_, err := userdb.EditFile(file, name, func(r *userdb.Record) (*userdb.Record, error) {
			if r == nil {
				return nil, nil
			}
			for _, f := range args {
				r.Unset(f)
			}
			return r, nil
		})
		if err != nil {
			return fail(e, "userdb", 255, "%v", err)
		}
		return 0
	case "del":
		if len(args) > 0 {
			return userdbUsage(e)
		}
		if _, err := userdb.EditFile(file, name, func(*userdb.Record) (*userdb.Record, error) { return nil, nil }); err != nil {
			return fail(e, "userdb", 255, "%v", err)
		}
		return 0
	}
	return userdbUsage(e)
}

// userdbSet adds or replaces fields; a field without "=" takes its value
// from standard input (prompting "name.field: " on a terminal).
func userdbSet(e *Env, file, name string, args []string) int {
	in := bufio.NewReader(e.Stdin)
	tty := authIsTerminal(e.Stdin)
	var fields []userdb.Field
	for _, a := range args {
		n, v, has := strings.Cut(a, "=")
		if !has {
			if tty {
				fmt.Fprintf(e.Stdout, "%s.%s: ", name, n)
			}
			line, err := in.ReadString('\n')
			if err != nil && line == "" {
				return 1
			}
			v = strings.TrimSuffix(line, "\n")
			if strings.ContainsAny(v, "|\n") {
				return fail(e, "userdb", 255, "Invalid value.")
			}
		}
		fields = append(fields, userdb.Field{Name: n, Value: v, HasValue: true})
	}
	_, err := userdb.EditFile(file, name, func(r *userdb.Record) (*userdb.Record, error) {
		if r == nil {
			r = &userdb.Record{Name: name}
		}
		for _, f := range fields {
			r.Set(f)
		}
		return r, nil
	})
	if err != nil {
		return fail(e, "userdb", 255, "%v", err)
	}
	return 0
}

// userdbShow lists the names in a userdb file, or one record's fields one per line.
func userdbShow(e *Env, file, name string) int {
	if st, err := os.Stat(file); err == nil && !st.Mode().IsRegular() {
		return fail(e, "userdb", 255, "%s: not a file.", file)
	}
	recs, err := userdb.ReadFileRecords(file)
	if err != nil {
		return fail(e, "userdb", 255, "%v", err)
	}
	for _, r := range recs {
		if name == "" {
			fmt.Fprintln(e.Stdout, r.Name)
			continue
		}
		if r.Name == name {
			for _, f := range r.Fields {
				fmt.Fprintln(e.Stdout, f.String())
			}
			break
		}
	}
	return 0
}

// authIsTerminal reports whether r is a character device (a terminal).
func authIsTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
