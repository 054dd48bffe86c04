package downgrade

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
)

func convert(t testing.TB, in string) (string, *Plan) {
	t.Helper()
	p, err := Scan(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := p.Convert(&out, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	return out.String(), p
}

func is7(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestSevenBitUnchanged: a message without 8-bit octets comes out octet for octet.
func TestSevenBitUnchanged(t *testing.T) {
	for _, in := range []string{
		"Subject: x\n\nhello\n",
		"Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\npre\n--b\n\nA\n--b--\npost\n",
		"Subject: no body",
		"",
	} {
		out, p := convert(t, in)
		if out != in || p.Has8Bit || p.Parts != 0 {
			t.Errorf("%q -> %q (%+v)", in, out, p)
		}
	}
}

// TestSinglePart: an 8-bit text body becomes quoted-printable, with its CTE replaced and
// the rest of the header as it was; decoding gives the original body back.
func TestSinglePart(t *testing.T) {
	body := "Grüße aus Köln = \n" + strings.Repeat("ä", 60) + "\ntrailing space \nlast line without break\t"
	in := "From: a@b\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\nSubject: hi\n\n" + body
	out, p := convert(t, in)
	if !p.Clean() || p.Parts != 1 || !p.Has8Bit {
		t.Fatalf("plan %+v", p)
	}
	if !is7(out) {
		t.Fatalf("not 7-bit: %q", out)
	}
	hdr, enc, _ := strings.Cut(out, "\n\n")
	if hdr != "From: a@b\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\nSubject: hi" {
		t.Errorf("header %q", hdr)
	}
	for _, l := range strings.Split(enc, "\n") {
		if len(l) > 76 {
			t.Errorf("line of %d characters: %q", len(l), l)
		}
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(enc)))
	if err != nil {
		t.Fatal(err)
	}
	// the decoder makes hard line breaks CRLF
	if got := strings.ReplaceAll(string(dec), "\r\n", "\n"); got != body {
		t.Errorf("decoded %q, want %q", got, body)
	}
}

// TestNoMIMEVersion: a body of a message that is not MIME gets MIME-Version with the CTE.
func TestNoMIMEVersion(t *testing.T) {
	out, _ := convert(t, "Subject: x\n\ncaf\xe9\n")
	if out != "Subject: x\nMIME-Version: 1.0\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9\n" {
		t.Errorf("%q", out)
	}
}

// TestMultipart: only the 8-bit part changes; boundaries, the 7-bit part, the preamble and
// the nested message/rfc822 (walked into, not encoded) are kept; the container labelled
// 8bit becomes 7bit.
func TestMultipart(t *testing.T) {
	in := "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\nContent-Transfer-Encoding: 8bit\n\n" +
		"preamble \xff\n" +
		"--outer\nContent-Type: text/plain\n\nplain ascii\n" +
		"--outer\nContent-Type: text/plain; charset=latin1\n\nna\xefve\n" +
		"--outer\nContent-Type: message/rfc822\n\nSubject: inner\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=inner\n\n" +
		"--inner\nContent-Type: text/html\nContent-Transfer-Encoding: 8bit\n\n<p>\xc3\xa9</p>\n--inner--\n" +
		"--outer\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAAA\xe9BBBB\n" +
		"--outer--\nepilogue\n"
	out, p := convert(t, in)
	if !p.Clean() || p.Parts != 2 {
		t.Fatalf("plan %+v", p)
	}
	if !is7(out) {
		t.Fatalf("not 7-bit: %q", out)
	}
	want := "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\nContent-Transfer-Encoding: 7bit\n\n" +
		"preamble ?\n" +
		"--outer\nContent-Type: text/plain\n\nplain ascii\n" +
		"--outer\nContent-Type: text/plain; charset=latin1\nContent-Transfer-Encoding: quoted-printable\n\nna=EFve\n" +
		"--outer\nContent-Type: message/rfc822\n\nSubject: inner\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=inner\n\n" +
		"--inner\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<p>=C3=A9</p>\n--inner--\n" +
		"--outer\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAAABBBB\n" +
		"--outer--\nepilogue\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	// converting the output again changes nothing
	if again, p2 := convert(t, out); again != out || p2.Has8Bit {
		t.Errorf("second conversion differs")
	}
}

// TestHeader8Bit: 8-bit header octets are reported and left alone.
func TestHeader8Bit(t *testing.T) {
	out, p := convert(t, "Subject: Gr\xc3\xbc\xc3\x9fe\n\nascii\n")
	if p.Clean() || !p.Header8Bit || out != "Subject: Gr\xc3\xbc\xc3\x9fe\n\nascii\n" {
		t.Errorf("%q %+v", out, p)
	}
	_, p = convert(t, "Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\n\xe9\n")
	if p.Clean() || !p.Unconvertible {
		t.Errorf("unknown encoding: %+v", p)
	}
}

// TestCRLFAndLongLines: CRLF endings are kept, and a line longer than the read buffer is
// encoded in one piece with soft breaks.
func TestCRLFAndLongLines(t *testing.T) {
	long := strings.Repeat("\xe9x", 40000)
	in := "Subject: x\r\n\r\n" + long + "\r\nend\r\n"
	out, p := convert(t, in)
	if !p.Clean() || !is7(out) || !strings.HasSuffix(out, "\r\nend\r\n") {
		t.Fatalf("%+v %q", p, out[max(0, len(out)-20):])
	}
	_, enc, _ := strings.Cut(out, "\r\n\r\n")
	for _, l := range strings.Split(enc, "\r\n") {
		if len(l) > 76 || strings.Contains(l, "\n") {
			t.Fatalf("bad line %q", l[:min(len(l), 100)])
		}
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(enc)))
	if err != nil || string(dec) != long+"\r\nend\r\n" {
		t.Errorf("decoded %d octets, err %v", len(dec), err)
	}
}

// TestChangedBetweenPasses: a different message on the second pass is an error, not a
// silently wrong conversion.
func TestChangedBetweenPasses(t *testing.T) {
	in := "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n\xe9\n--b--\n"
	p, err := Scan(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	other := in + "--b\n\nmore\n"
	other = strings.Replace(other, "--b--", "--b", 1)
	if err := p.Convert(io.Discard, strings.NewReader(other)); err == nil {
		t.Error("no error")
	}
}

// FuzzDowngrade: any input converts without error; a clean plan gives 7-bit output; the
// conversion is deterministic, and a converted message converts to itself.
func FuzzDowngrade(f *testing.F) {
	for _, s := range []string{
		"Subject: x\n\ncaf\xe9\n",
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n\xe9\n--b--\n",
		"Content-Type: multipart/mixed; boundary=\"a;b\"\n\n--a;b\nContent-Type: message/rfc822\n\nX: y\n\n\xff\n--a;b--",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n\x80\n",
		"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n=E9\xe9 \n",
		"\xe9\n\n\xe9",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Scan(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		var a, b bytes.Buffer
		if err := p.Convert(&a, bytes.NewReader(in)); err != nil {
			t.Fatal(err)
		}
		if err := p.Convert(&b, bytes.NewReader(in)); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatal("not deterministic")
		}
		if !p.Has8Bit && !bytes.Equal(a.Bytes(), in) {
			t.Fatalf("7-bit input changed: %q -> %q", in, a.Bytes())
		}
		if p.Clean() && !is7(a.String()) {
			t.Fatalf("clean plan, 8-bit output: %q -> %q", in, a.Bytes())
		}
		if p.Clean() {
			p2, err := Scan(bytes.NewReader(a.Bytes()))
			if err != nil || p2.Has8Bit {
				t.Fatalf("rescan: %v %+v", err, p2)
			}
		}
	})
}
