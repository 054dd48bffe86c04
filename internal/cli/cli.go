// Package cli is the subcommand table of the courier binary. Each tool lives in its own file
// and adds itself to the table with register from an init function; the table is complete
// before main runs and never changes afterwards.
package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"
)

// Env is what a tool runs with: its arguments (without the tool name), standard streams and
// the process environment. Tools read the environment through Getenv so tests can run them
// in-process with their own.
type Env struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv returns an environment variable; nil means os.Getenv.
	Getenv func(string) string
}

// Env returns the named environment variable.
func (e *Env) Env(name string) string {
	if e.Getenv != nil {
		return e.Getenv(name)
	}
	return os.Getenv(name)
}

// Command is one entry of the table.
type Command struct {
	Name  string // the tool name, also the argv[0] it answers to
	Usage string // one line: flags and arguments
	Short string // one line: what it does
	// Link says whether install-links makes a link for it (tools known by their own name).
	Link bool
	// Run executes the tool and returns the process exit code.
	Run func(e *Env) int
}

var table = map[string]*Command{}

// register adds a command; called only from init functions.
func register(c *Command) {
	if _, dup := table[c.Name]; dup {
		panic("cli: duplicate command " + c.Name)
	}
	table[c.Name] = c
}

// Commands returns the table sorted by name.
func Commands() []*Command {
	out := make([]*Command, 0, len(table))
	for _, c := range table {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds a command by name.
func Lookup(name string) (*Command, bool) {
	c, ok := table[name]
	return c, ok
}

// Main dispatches on argv[0] or on the first argument and returns the exit code.
//
// With COURIER_CPUPROFILE=FILE in the environment the whole run is CPU-profiled into FILE
// (for benchmarks: `courier quickstart` writes it when stopped with SIGTERM or SIGINT).
func Main(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if p := os.Getenv("COURIER_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "courier: COURIER_CPUPROFILE: %v\n", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if stop, err := startContentionProfiles(); err != nil {
		fmt.Fprintf(stderr, "courier: %v\n", err)
		return 1
	} else if stop != nil {
		defer stop()
	}
	return run(argv, &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// startContentionProfiles starts the blocking and mutex profiles that COURIER_BLOCKPROFILE=FILE
// and COURIER_MUTEXPROFILE=FILE ask for, like COURIER_CPUPROFILE for the whole run: the CPU
// profile shows where time is spent running, these where goroutines wait (locks, channels,
// as under many concurrent sessions). It returns the function that writes them, or nil.
func startContentionProfiles() (stop func(), err error) {
	type prof struct{ env, name string }
	var want []prof
	for _, p := range []prof{{"COURIER_BLOCKPROFILE", "block"}, {"COURIER_MUTEXPROFILE", "mutex"}} {
		if os.Getenv(p.env) != "" {
			want = append(want, p)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	for _, p := range want {
		// Check the file can be written now, not at the end of a long run.
		f, err := os.Create(os.Getenv(p.env))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.env, err)
		}
		f.Close()
		switch p.name {
		case "block":
			runtime.SetBlockProfileRate(int(time.Microsecond)) // every wait of 1 µs or more
		case "mutex":
			runtime.SetMutexProfileFraction(1)
		}
	}
	return func() {
		for _, p := range want {
			if f, err := os.Create(os.Getenv(p.env)); err == nil {
				_ = pprof.Lookup(p.name).WriteTo(f, 0)
				f.Close()
			}
		}
	}, nil
}

// Run runs a tool in-process with the given environment lookup; tests use it.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return run(append([]string{"courier"}, args...), &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv})
}

func run(argv []string, e *Env) int {
	name := "courier"
	if len(argv) > 0 {
		name = filepath.Base(argv[0])
	}
	// A link such as "maildirmake" or "sendmail" acts as that tool; "courier-foo" or "courier" use argv[1].
	if c, ok := table[name]; ok && name != "courier" {
		e.Args = argv[1:]
		return runCommand(c, e)
	}
	if len(argv) < 2 {
		usage(e.Stderr)
		return 2
	}
	tool := argv[1]
	switch tool {
	case "-h", "--help", "help":
		if len(argv) > 2 {
			if c, ok := table[argv[2]]; ok {
				printUsage(e.Stdout, c)
				return 0
			}
		}
		usage(e.Stdout)
		return 0
	case "-v", "--version":
		tool = "version"
	}
	c, ok := table[tool]
	if !ok {
		fmt.Fprintf(e.Stderr, "courier: unknown tool %q\n\n", tool)
		usage(e.Stderr)
		return 2
	}
	e.Args = argv[2:]
	return runCommand(c, e)
}

func runCommand(c *Command, e *Env) int {
	if len(e.Args) == 1 && (e.Args[0] == "--help" || e.Args[0] == "-help") {
		printUsage(e.Stdout, c)
		return 0
	}
	return c.Run(e)
}

func printUsage(w io.Writer, c *Command) {
	fmt.Fprintf(w, "usage: courier %s %s\n\n%s\n", c.Name, c.Usage, c.Short)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: courier TOOL [ARGS]   (or call the binary through a link named TOOL)\n\ntools:\n")
	for _, c := range Commands() {
		fmt.Fprintf(w, "  %-16s %s\n", c.Name, c.Short)
	}
	fmt.Fprintf(w, "\n'courier TOOL --help' shows a tool's usage.\n")
}

// fail prints "courier TOOL: msg" on stderr and returns code.
func fail(e *Env, tool string, code int, format string, args ...any) int {
	fmt.Fprintf(e.Stderr, "%s: %s\n", tool, strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
	return code
}
