package esmtp

// The forms a message is sent in. A peer that offers 8BITMIME gets the message as stored;
// one that does not gets it converted to 7 bits when it has 8-bit octets (package
// downgrade: 8-bit body parts re-encoded as quoted-printable), as RFC 6152 section 3
// asks. A message that cannot be made 7-bit (8-bit header fields, an unknown transfer
// encoding) is returned to its sender instead: 5.6.3 "conversion required but
// prohibited" (RFC 3463), or 5.6.9 when it has RFC 6532 UTF-8 header fields (it was sent
// with SMTPUTF8), which only an SMTPUTF8 peer may receive (RFC 6531 section 3.2,
// RFC 6531's X.6.9). Leaving raw 8-bit header octets for a peer that did not offer
// 8BITMIME is not allowed by RFC 5321 section 2.4 (7-bit data unless an extension says
// otherwise), and their charset is unknown, so encoding them is guesswork.
//
// Each form is DKIM-signed separately (Options.Sign sees the octets that are sent), so a
// receiver can verify the signature after the conversion; signatures and sizes are kept in
// the message's state. The conversion is deterministic, so signing one pass and sending
// another gives matching octets.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"courier/internal/queue"
	"courier/internal/transport/downgrade"
)

// form is how a message is sent.
type form int

const (
	formStored form = iota // as stored
	form7bit               // converted to 7 bits (package downgrade)
)

// formState is what is known of one form of a message.
type formState struct {
	signed bool
	sig    string // header fields to put before it (Options.Sign)
	sized  bool
	size   int64
}

// msgContent caches what the transport read of a message's content.
type msgContent struct {
	headerRead bool
	tlsNo      bool            // "TLS-Required: No" (RFC 8689 section 3)
	plan       *downgrade.Plan // nil until a peer needs it
	forms      [2]formState
}

// tlsRequiredNo reports whether the message's header has "TLS-Required: No".
func (t *Transport) tlsRequiredNo(m *queue.Message, st *msgState) bool {
	if st.content.headerRead {
		return st.content.tlsNo
	}
	r, err := m.Open()
	if err != nil {
		// unknown: the policies apply, which errs on the side of the recipient's wishes
		t.log.Warn("esmtp: reading the header", "id", m.ID, "err", err)
		return false
	}
	defer r.Close()
	st.content.headerRead = true
	st.content.tlsNo = hasTLSRequiredNo(r)
	return st.content.tlsNo
}

// hasTLSRequiredNo reads a message header for a "TLS-Required: No" field.
func hasTLSRequiredNo(r io.Reader) bool {
	br := bufio.NewReader(r)
	field := ""
	check := func() bool {
		name, val, ok := strings.Cut(field, ":")
		return ok && strings.EqualFold(strings.TrimSpace(name), "TLS-Required") && strings.EqualFold(strings.TrimSpace(val), "No")
	}
	for {
		line, err := br.ReadString('\n')
		l := strings.TrimRight(line, "\r\n")
		if l != "" && (l[0] == ' ' || l[0] == '\t') {
			field += l // folded
		} else {
			if check() {
				return true
			}
			if l == "" {
				return false // the end of the header
			}
			field = l
		}
		if err != nil {
			return check()
		}
	}
}

// plan scans the message for its 7-bit conversion (once).
func (t *Transport) plan(m *queue.Message, st *msgState) (*downgrade.Plan, error) {
	if st.content.plan != nil {
		return st.content.plan, nil
	}
	r, err := m.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	p, err := downgrade.Scan(r)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", m.ID, err)
	}
	st.content.plan = p
	return p, nil
}

// formFor chooses the form for the peer of cn, or returns why the message cannot go to it.
func (t *Transport) formFor(cn *conn, m *queue.Message, st *msgState, peerUTF8 bool) (form, *queue.Result) {
	env := m.Env
	if env.SMTPUTF8 && !peerUTF8 {
		p, err := t.plan(m, st)
		if err != nil {
			res := retry(fmt.Errorf("4.3.0 %w", err))
			return formStored, &res
		}
		if p.Header8Bit {
			res := failed(fmt.Errorf("5.6.9 %s does not support SMTPUTF8, which the message's UTF-8 header fields need", cn.peer()))
			return formStored, &res
		}
	}
	if ok, _ := cn.c.Extension("8BITMIME"); ok {
		return formStored, nil
	}
	p, err := t.plan(m, st)
	if err != nil {
		res := retry(fmt.Errorf("4.3.0 %w", err))
		return formStored, &res
	}
	if !p.Has8Bit {
		return formStored, nil // 7-bit already, whatever BODY= said
	}
	if !p.Clean() {
		why := "8-bit header fields"
		if p.Unconvertible {
			why = "8-bit data in a transfer encoding that cannot be converted"
		}
		res := failed(fmt.Errorf("5.6.3 %s does not support 8BITMIME, and the message cannot be made 7-bit (%s)", cn.peer(), why))
		return formStored, &res
	}
	return form7bit, nil
}

// writeForm writes the message (content, as stored) in form f to w.
func (t *Transport) writeForm(w io.Writer, content io.Reader, st *msgState, f form) error {
	if f == form7bit {
		return st.content.plan.Convert(w, content)
	}
	_, err := io.Copy(w, content)
	return err
}

// openForm returns a reader of the message in form f.
func (t *Transport) openForm(m *queue.Message, st *msgState, f form) (io.ReadCloser, error) {
	r, err := m.Open()
	if err != nil || f == formStored {
		return r, err
	}
	plan := st.content.plan
	pr, pw := io.Pipe()
	go func() {
		defer r.Close()
		pw.CloseWithError(plan.Convert(pw, r))
	}()
	return pr, nil
}

// formSize returns the size of form f (the size of the stored message for it as is).
func (t *Transport) formSize(m *queue.Message, st *msgState, f form) (int64, error) {
	fs := &st.content.forms[f]
	if fs.sized {
		return fs.size, nil
	}
	if f == formStored {
		return m.Size(), nil
	}
	r, err := m.Open()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var n countWriter
	if err := st.content.plan.Convert(&n, r); err != nil {
		return 0, err
	}
	fs.size, fs.sized = int64(n), true
	return fs.size, nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// signature returns the header fields Options.Sign gives for form f (once per form).
func (t *Transport) signature(ctx context.Context, m *queue.Message, st *msgState, f form) (string, error) {
	fs := &st.content.forms[f]
	if t.o.Sign == nil || fs.signed {
		return fs.sig, nil
	}
	r, err := t.openForm(m, st, f)
	if err != nil {
		return "", err
	}
	sig, err := t.o.Sign(ctx, m, r)
	r.Close()
	if err != nil {
		return "", err
	}
	if sig != "" && !strings.HasSuffix(sig, "\n") {
		return "", errors.New("the signature does not end its line")
	}
	fs.sig, fs.signed = sig, true
	return sig, nil
}
