package charset

import (
	"errors"
	"io"
	"mime"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/ianaindex"
)

func decode(t *testing.T, name, in string) string {
	t.Helper()
	r, err := Reader(name, strings.NewReader(in))
	if err != nil {
		t.Fatalf("Reader(%q): %v", name, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %q: %v", name, err)
	}
	return string(b)
}

func TestLabels(t *testing.T) {
	for _, c := range []struct{ names, in, want string }{
		{"utf-8 UTF8 us-ascii ascii ANSI_X3.4-1968", "hello", "hello"},
		{"iso-8859-1 ISO8859-1 iso_8859-1 8859-1 latin1 l1 \"iso-8859-1\" ansi_x3.110-1983", "h\xe9llo", "héllo"},
		{"iso-8859-15 ISO8859-15 latin-9", "\xa4", "€"},
		{"iso-8859-2 latin2", "\xb1", "ą"},
		{"windows-1252 cp1252 x-cp1252 win-1252", "\x80", "€"},
		{"windows-1251 cp1251 win1251", "\xe9", "й"},
		{"koi8-r", "\xca", "й"},
		{"koi8-u", "\xa4", "є"},
		{"gb2312 GBK x-gbk cp936 euc-cn gb18030", "\xc4\xe3\xba\xc3", "你好"},
		{"big5 big5-hkscs", "\xa7\x41", "你"},
		{"shift_jis sjis x-sjis windows-31j ms932", "\x82\xa0", "あ"},
		{"euc-jp x-euc-jp", "\xa4\xa2", "あ"},
		{"iso-2022-jp csISO2022JP", "\x1b$B$\"\x1b(B", "あ"},
		{"euc-kr ks_c_5601-1987 ksc5601", "\xb0\xa1", "가"},
		{"utf-16be", "\x00h\x00i", "hi"},
		{"utf-16le", "h\x00i\x00", "hi"},
		{"tis-620 windows-874 iso-8859-11", "\xa1", "ก"},
		{"macintosh x-mac-roman", "\x8e", "é"},
		{"ibm866 cp866 dos-866", "\xa9", "й"},
	} {
		for _, n := range strings.Fields(c.names) {
			if got := decode(t, n, c.in); got != c.want {
				t.Errorf("%s: %q decodes to %q, want %q", n, c.in, got, c.want)
			}
		}
	}
}

func TestUnknown(t *testing.T) {
	for _, n := range []string{"", "x-unknown", "unknown-8bit", "utf-7", "iso-8859-99", "cp12345", "../../etc", strings.Repeat("a", 10000)} {
		if _, err := Lookup(n); !errors.Is(err, ErrUnknown) {
			t.Errorf("Lookup(%q) = %v, want ErrUnknown", n, err)
		}
		if r, err := Reader(n, strings.NewReader("x")); r != nil || !errors.Is(err, ErrUnknown) {
			t.Errorf("Reader(%q) = %v, %v", n, r, err)
		}
	}
}

func TestWordDecoder(t *testing.T) {
	d := mime.WordDecoder{CharsetReader: Reader}
	got, err := d.DecodeHeader("=?ISO-8859-1?Q?caf=E9?= =?gb2312?B?xOO6ww==?=")
	if err != nil || got != "café你好" {
		t.Fatalf("DecodeHeader = %q, %v", got, err)
	}
}

// FuzzLookup: any name either finds an encoding or fails with ErrUnknown, and decoding any
// input with what it finds neither panics nor fails.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"utf-8", "ISO8859-1", "cp1252", "8859-", "iso8859_99999", "x-cp125", "win-1250x", "\"\"", "cs", "csutf8", "\x00", "windows-1258"} {
		f.Add(s, []byte("h\xe9llo \x82\xa0 \x1b$B"))
	}
	f.Fuzz(func(t *testing.T, name string, in []byte) {
		e, err := Lookup(name)
		if err != nil {
			if !errors.Is(err, ErrUnknown) {
				t.Fatalf("Lookup(%q): %v", name, err)
			}
			return
		}
		if _, err := io.ReadAll(e.NewDecoder().Reader(strings.NewReader(string(in)))); err != nil {
			t.Logf("decoding with %q: %v", name, err)
		}
	})
}

// TestNamesMatchIANAIndex checks the generated table against x/text's ianaindex, so that an
// x/text upgrade that changes the registry shows up here (run `go generate` then).
func TestNamesMatchIANAIndex(t *testing.T) {
	for name, e := range names() {
		var want encoding.Encoding
		for _, idx := range []*ianaindex.Index{ianaindex.MIME, ianaindex.IANA} {
			if w, err := idx.Encoding(name); err == nil && w != nil {
				want = w
				break
			}
		}
		if want == nil {
			t.Errorf("%q: ianaindex has no decoder", name)
			continue
		}
		if n, _ := ianaindex.MIME.Name(want); n == "US-ASCII" {
			want = charmap.Windows1252
		}
		if e != want {
			t.Errorf("%q: table gives %v, ianaindex %v", name, e, want)
		}
	}
	if len(names()) < 200 {
		t.Errorf("only %d names", len(names()))
	}
}
