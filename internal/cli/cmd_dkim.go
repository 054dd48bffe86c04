package cli

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"courier/internal/dkim"
)

func init() {
	register(&Command{
		Name:  "dkim",
		Usage: "keygen DOMAIN [-selector S] [-type rsa|ed25519] [-c DIR] | dns [DOMAIN] [-c DIR]",
		Short: "make DKIM signing keys (DIR/dkim/, listed in DIR/dkimkeys) and print their DNS records",
		Run:   runDKIM,
	})
}

// parseInterleaved parses flags that may come before or after the positional arguments
// ("keygen example.com -selector s1"), which the flag package alone does not allow.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runDKIM(e *Env) int {
	if len(e.Args) == 0 {
		return fail(e, "dkim", 2, "usage: courier dkim keygen DOMAIN [-selector S] [-type rsa|ed25519] [-c DIR] | dns [DOMAIN] [-c DIR]")
	}
	sub, args := e.Args[0], e.Args[1:]
	fs := newFlags(e, "dkim "+sub)
	dir := configDir(e, fs)
	switch sub {
	case "keygen":
		selector := fs.String("selector", "default", "the selector: the key's record is SELECTOR._domainkey.DOMAIN")
		typ := fs.String("type", "rsa", "key type: rsa (2048 bits, verified everywhere) or ed25519 (RFC 8463)")
		pos, err := parseInterleaved(fs, args)
		if err != nil {
			return 2
		}
		if len(pos) != 1 {
			return fail(e, "dkim keygen", 2, "want one DOMAIN, got %d arguments", len(pos))
		}
		rec, err := dkim.Generate(*dir, pos[0], *selector, *typ)
		if err != nil {
			return fail(e, "dkim keygen", 1, "%v", err)
		}
		fmt.Fprintf(e.Stderr, "dkim keygen: key for %s (selector %s) written to %s/%s/ and listed in %s/%s; publish this record:\n",
			pos[0], *selector, *dir, dkim.KeyDir, *dir, dkim.ControlFile)
		fmt.Fprintln(e.Stdout, rec.Zone())
		return 0
	case "dns":
		pos, err := parseInterleaved(fs, args)
		if err != nil {
			return 2
		}
		if len(pos) > 1 {
			return fail(e, "dkim dns", 2, "at most one DOMAIN")
		}
		keys := dkim.NewKeyring(*dir, nil).Keys()
		sort.Slice(keys, func(i, j int) bool {
			return keys[i].Domain < keys[j].Domain || keys[i].Domain == keys[j].Domain && keys[i].Selector < keys[j].Selector
		})
		for _, k := range keys {
			if len(pos) == 1 && !strings.EqualFold(strings.TrimSuffix(pos[0], "."), k.Domain) {
				continue
			}
			rec, err := dkim.RecordOf(k)
			if err != nil {
				return fail(e, "dkim dns", 1, "%v", err)
			}
			fmt.Fprintln(e.Stdout, rec.Zone())
		}
		return 0
	default:
		return fail(e, "dkim", 2, "unknown subcommand %q (keygen or dns)", sub)
	}
}
