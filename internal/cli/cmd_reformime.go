package cli

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime/quotedprintable"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"courier/internal/mail/mime"
)

func init() {
	register(&Command{
		Name:  "reformime",
		Usage: "[-i] [-s section[,section...]] [-e] [-xPREFIX] [-X prog arg...]",
		Short: "show a message's MIME structure, describe or extract its sections",
		Link:  true,
		Run:   runReformime,
	})
}

// mimeSection is one numbered section of a message, as reformime counts them: "1" is the
// message, "N.i" the i-th part of multipart N, "N.1" the message enclosed in message/rfc822
// section N.
type mimeSection struct {
	id string
	p  *mime.Part
}

func mimeSections(p *mime.Part, id string, out []mimeSection) []mimeSection {
	out = append(out, mimeSection{id, p})
	if p.Message != nil {
		return mimeSections(p.Message, id+".1", out)
	}
	for i, c := range p.Parts {
		out = mimeSections(c, id+"."+strconv.Itoa(i+1), out)
	}
	return out
}

func runReformime(e *Env) int {
	bad := func() int {
		fmt.Fprintln(e.Stderr, "reformime: Invalid arguments.")
		return 1
	}
	var (
		info, extract bool
		sections      []string
		prefix        *string
		prog          []string
	)
	args := e.Args
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			return bad()
		}
		switch a[1] {
		case 'i':
			info = true
		case 'e':
			extract = true
		case 's':
			v := a[2:]
			if v == "" {
				if i+1 >= len(args) {
					return bad()
				}
				i++
				v = args[i]
			}
			sections = append(sections, strings.Split(v, ",")...)
		case 'x':
			p := a[2:]
			prefix = &p
		case 'X':
			if i+1 >= len(args) {
				return bad()
			}
			prog = args[i+1:]
			i = len(args)
		default:
			return bad()
		}
	}
	if prefix != nil && *prefix == "" {
		return fail(e, "reformime", 1, "interactive extraction (-x without a prefix) is not supported")
	}
	data, err := io.ReadAll(io.LimitReader(e.Stdin, maxReformailInput+1))
	if err != nil || len(data) > maxReformailInput {
		return fail(e, "reformime", 1, "reading standard input: %v", err)
	}
	root, err := mime.Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fail(e, "reformime", 1, "%v", err)
	}
	all := mimeSections(root, "1", nil)
	pick := all
	if sections != nil {
		pick = nil
		for _, s := range sections {
			found := false
			for _, sec := range all {
				if sec.id == s {
					pick, found = append(pick, sec), true
					break
				}
			}
			if !found {
				fmt.Fprintf(e.Stderr, "reformime: MIME section %s not found.\n", s)
				return 1
			}
		}
	}
	switch {
	case extract:
		if sections == nil {
			return bad()
		}
		for _, sec := range pick {
			e.Stdout.Write(decodedBody(data, sec.p)) //nolint:errcheck
		}
	case prog != nil || prefix != nil:
		for n, sec := range pick {
			if sec.p.IsMultipart() {
				continue
			}
			name := defaultFilename(sec.p, n+1)
			body := decodedBody(data, sec.p)
			if prog != nil {
				cmd := exec.Command(prog[0], prog[1:]...)
				cmd.Env = append(os.Environ(), "CONTENT_TYPE="+sec.p.ContentType, "FILENAME="+name)
				cmd.Stdin = bytes.NewReader(body)
				cmd.Stdout, cmd.Stderr = e.Stdout, e.Stderr
				if err := cmd.Run(); err != nil {
					if ee, ok := err.(*exec.ExitError); ok {
						return 20 + ee.ExitCode()
					}
					return fail(e, "reformime", 1, "%s: %v", prog[0], err)
				}
				continue
			}
			if err := os.WriteFile(*prefix+name, body, 0o644); err != nil {
				return fail(e, "reformime", 1, "%v", err)
			}
		}
	case info:
		for _, sec := range pick {
			printSectionInfo(e.Stdout, e, sec)
			if sections == nil {
				fmt.Fprintln(e.Stdout)
			}
		}
	default:
		for _, sec := range pick {
			fmt.Fprintln(e.Stdout, sec.id)
		}
	}
	return 0
}

func printSectionInfo(w io.Writer, e *Env, sec mimeSection) {
	p := sec.p
	fmt.Fprintf(w, "section: %s\ncontent-type: %s\n", sec.id, p.ContentType)
	if v, ok := p.Param("name"); ok {
		fmt.Fprintf(w, "content-name: %s\n", v)
	}
	cs, ok := p.Param("charset")
	if !ok {
		cs = e.Env("RFC2045CHARSET")
		if cs == "" {
			// the locale's character set, as Courier's unicode library reports it
			cs = "US-ASCII"
			if utf8Locale(e) {
				cs = "UTF-8"
			}
		}
	}
	fmt.Fprintf(w, "content-transfer-encoding: %s\ncharset: %s\n", p.EncodingOrDefault(), cs)
	if p.Disposition != "" {
		fmt.Fprintf(w, "content-disposition: %s\n", p.Disposition)
	}
	for _, dp := range p.DispositionParams {
		fmt.Fprintf(w, "content-disposition-%s: %s\n", dp.Name, dp.Value)
	}
	fmt.Fprintf(w, "starting-pos: %d\nstarting-pos-body: %d\nending-pos: %d\nline-count: %d\nbody-line-count: %d\n",
		p.HeaderStart, p.BodyStart, p.End, p.Lines, p.BodyLines)
}

// decodedBody is a section's content with its transfer encoding undone.
func decodedBody(data []byte, p *mime.Part) []byte {
	body := data[p.BodyStart:p.End]
	switch p.Encoding {
	case "base64":
		var clean []byte
		for _, c := range body {
			if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
				clean = append(clean, c)
			}
		}
		out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
		n, _ := base64.StdEncoding.Decode(out, clean)
		return out[:n]
	case "quoted-printable":
		out, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		return out
	}
	return body
}

// defaultFilename is the name reformime gives a section: its Content-Disposition filename
// or Content-Type name with anything but letters, digits, '.', '-' and '_' made '_' (and no
// directories), else attachmentN.dat.
func defaultFilename(p *mime.Part, n int) string {
	name := ""
	for _, dp := range p.DispositionParams {
		if dp.Name == "filename" {
			name = dp.Value
		}
	}
	if name == "" {
		name, _ = p.Param("name")
	}
	name = filepath.Base(name)
	if name == "." || name == "/" || name == "" {
		return "attachment" + strconv.Itoa(n) + ".dat"
	}
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
