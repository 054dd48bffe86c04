package pop3

import "strings"

// Implementation is the IMPLEMENTATION capability's text (RFC 2449 §6.9), Courier's own.
const Implementation = "Courier Mail Server"

// loginDelay is the LOGIN-DELAY Courier advertises (RFC 2449 §6.5). It is advice to
// clients about how often to check; nothing enforces it.
const loginDelay = "10"

// cmdCAPA lists the capabilities (RFC 2449 §5): Courier's list, plus RESP-CODES and
// AUTH-RESP-CODE (this server sends RFC 2449 and RFC 3206 response codes) and LANG.
// Before login it also names the SASL mechanisms on offer and STLS; USER is left out where
// a cleartext login would be refused (RFC 2595 §4).
func (ss *session) cmdCAPA() {
	ss.reply("+OK Here's what I can do:")
	user := true
	if ss.state == stateAuthorization {
		if m := ss.mechanisms(); len(m) > 0 {
			ss.reply("SASL " + strings.Join(m, " "))
		}
		if ss.stlsAvailable() {
			ss.reply("STLS")
		}
		user = ss.plaintextOK()
	}
	ss.reply("TOP")
	if user {
		ss.reply("USER")
	}
	ss.reply("LOGIN-DELAY " + loginDelay)
	ss.reply("PIPELINING")
	ss.reply("UIDL")
	if user {
		ss.reply("UTF8 USER")
	} else {
		ss.reply("UTF8")
	}
	ss.reply("RESP-CODES")
	ss.reply("AUTH-RESP-CODE")
	ss.reply("LANG")
	ss.reply("IMPLEMENTATION " + Implementation)
	ss.reply(".")
}

// cmdUTF8 turns on UTF-8 mode (RFC 6856 §2). Courier accepts it in either state, and so
// do we; messages are always sent as stored.
func (ss *session) cmdUTF8() {
	ss.utf8 = true
	ss.reply("+OK UTF8 enabled")
}

// languageName names the LANG choices (RFC 6856 §3); replies are in English only.
func languageName(tag string) (string, bool) {
	switch tag {
	case "en":
		return "English", true
	case "i-default":
		return "Default language", true
	}
	return "", false
}

// cmdLANG lists the response languages or picks one (RFC 6856 §3).
func (ss *session) cmdLANG(c Command) {
	if len(c.Args) == 0 {
		ss.reply("+OK Language listing follows:")
		for _, t := range []string{"en", "i-default"} {
			n, _ := languageName(t)
			ss.reply(t + " " + n)
		}
		ss.reply(".")
		return
	}
	tag := strings.ToLower(c.Args[0])
	if tag == "*" || strings.HasPrefix(tag, "en-") {
		tag = "en"
	}
	if n, ok := languageName(tag); ok {
		ss.reply("+OK " + tag + " " + n)
		return
	}
	ss.reply("-ERR Language not available.")
}
