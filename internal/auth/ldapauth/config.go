package ldapauth

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"courier/internal/auth/authlib"
)

// Config is a loaded authldaprc, with authlib's defaults.
type Config struct {
	URIs            []string // LDAP_URI, tried in turn
	BaseDN          string   // LDAP_BASEDN (required)
	BindDN, BindPW  string   // LDAP_BINDDN, LDAP_BINDPW
	InitBind        bool     // LDAP_INITBIND (default 0): bind as BindDN before searching
	AuthBind        bool     // LDAP_AUTHBIND: check passwords by binding as the user
	TLS             bool     // LDAP_TLS: StartTLS
	Timeout         time.Duration
	Deref           int    // LDAP_DEREF
	GlobUID         int    // LDAP_GLOB_UID (number or user name); 0 unset
	GlobGID         int    // LDAP_GLOB_GID (number or group name); 0 unset
	Mail            string // LDAP_MAIL (default mail)
	Filter          string // LDAP_FILTER
	EnumerateFilter string // LDAP_ENUMERATE_FILTER
	Domain          string // LDAP_DOMAIN
	MailRoot        string // LDAP_MAILROOT
	// Attribute names; empty means not configured.
	HomeDir, Maildir, DefaultDelivery, FullName, ClearPW, CryptPW, UID, GID, Quota string
	// LDAP_AUXOPTIONS: attribute → option name pairs, in order.
	AuxAttrs, AuxNames []string
	// LDAP_EMAILMAP and friends.
	EmailMap, EmailMapBaseDN, EmailMapAttr, EmailMapMail string
}

// ParseConfig reads an authldaprc as authlib's authldaprc_file::do_load
// does. Differences, each a fix: LDAP_GLOB_GID is read from its own setting
// (authlib parses LDAP_GLOB_UID's value for it), and LDAP_PROTOCOL_VERSION
// 2 is refused (the client speaks version 3 only).
func ParseConfig(rc *authlib.RCFile) (*Config, error) {
	c := &Config{}
	uris, ok := rc.Get("LDAP_URI")
	if !ok || strings.TrimSpace(uris) == "" {
		return nil, fmt.Errorf("%s: LDAP_URI not found", rc.Path)
	}
	c.URIs = strings.FieldsFunc(uris, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if c.BaseDN, ok = rc.Get("LDAP_BASEDN"); !ok {
		return nil, fmt.Errorf("%s: LDAP_BASEDN not found", rc.Path)
	}
	tmo, err := rc.Int("LDAP_TIMEOUT", 5)
	if err != nil {
		return nil, err
	}
	if tmo <= 0 {
		tmo = 5
	}
	c.Timeout = time.Duration(tmo) * time.Second
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"LDAP_TLS", &c.TLS}, {"LDAP_AUTHBIND", &c.AuthBind}, {"LDAP_INITBIND", &c.InitBind}} {
		n, err := rc.Int(b.name, 0)
		if err != nil {
			return nil, err
		}
		*b.dst = n != 0
	}
	if c.InitBind {
		var ok1, ok2 bool
		c.BindDN, ok1 = rc.Get("LDAP_BINDDN")
		c.BindPW, ok2 = rc.Get("LDAP_BINDPW")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: LDAP_INITBIND needs LDAP_BINDDN and LDAP_BINDPW", rc.Path)
		}
	}
	if v, err := rc.Int("LDAP_PROTOCOL_VERSION", 0); err != nil {
		return nil, err
	} else if v != 0 && v != 3 {
		return nil, fmt.Errorf("%s: LDAP_PROTOCOL_VERSION %d not supported", rc.Path, v)
	}
	switch strings.ToLower(rc.String("LDAP_DEREF", "")) {
	case "", "never":
		c.Deref = ldap.NeverDerefAliases
	case "searching":
		c.Deref = ldap.DerefInSearching
	case "finding":
		c.Deref = ldap.DerefFindingBaseObj
	case "always":
		c.Deref = ldap.DerefAlways
	default:
		return nil, fmt.Errorf("%s: INVALID LDAP_DEREF", rc.Path)
	}
	if c.GlobUID, err = globID(rc.String("LDAP_GLOB_UID", ""), false); err != nil {
		return nil, fmt.Errorf("%s: INVALID LDAP_GLOB_UID: %w", rc.Path, err)
	}
	if c.GlobGID, err = globID(rc.String("LDAP_GLOB_GID", ""), true); err != nil {
		return nil, fmt.Errorf("%s: INVALID LDAP_GLOB_GID: %w", rc.Path, err)
	}
	c.Mail = rc.String("LDAP_MAIL", "mail")
	c.Filter = rc.String("LDAP_FILTER", "")
	c.EnumerateFilter = rc.String("LDAP_ENUMERATE_FILTER", "")
	c.Domain = rc.String("LDAP_DOMAIN", "")
	c.MailRoot = rc.String("LDAP_MAILROOT", "")
	c.HomeDir = rc.String("LDAP_HOMEDIR", "homeDir")
	c.Maildir = rc.String("LDAP_MAILDIR", "")
	c.DefaultDelivery = rc.String("LDAP_DEFAULTDELIVERY", "")
	c.FullName = rc.String("LDAP_FULLNAME", "")
	c.ClearPW = rc.String("LDAP_CLEARPW", "")
	c.CryptPW = rc.String("LDAP_CRYPTPW", "")
	c.UID = rc.String("LDAP_UID", "")
	c.GID = rc.String("LDAP_GID", "")
	c.Quota = rc.String("LDAP_MAILDIRQUOTA", "")
	for _, item := range strings.Split(rc.String("LDAP_AUXOPTIONS", ""), ",") {
		if item == "" {
			continue
		}
		attr, name, _ := strings.Cut(item, "=")
		c.AuxAttrs = append(c.AuxAttrs, attr)
		c.AuxNames = append(c.AuxNames, name)
	}
	c.EmailMap = rc.String("LDAP_EMAILMAP", "")
	c.EmailMapBaseDN = rc.String("LDAP_EMAILMAP_BASEDN", "")
	c.EmailMapAttr = rc.String("LDAP_EMAILMAP_ATTRIBUTE", "")
	if c.EmailMapAttr == "" {
		c.EmailMapAttr = "handle"
	}
	c.EmailMapMail = rc.String("LDAP_EMAILMAP_MAIL", "")
	if c.EmailMapMail == "" {
		c.EmailMapMail = c.Mail
	}
	return c, nil
}

// globID reads LDAP_GLOB_UID/GID: a number, or else a user (group) name
// looked up in the system files.
func globID(v string, group bool) (int, error) {
	if v == "" {
		return 0, nil
	}
	if n, ok := authlib.LeadingInt(v); ok && n >= 0 {
		return n, nil
	}
	var id string
	if group {
		g, err := user.LookupGroup(v)
		if err != nil {
			return 0, err
		}
		id = g.Gid
	} else {
		u, err := user.Lookup(v)
		if err != nil {
			return 0, err
		}
		id = u.Uid
	}
	return strconv.Atoi(id)
}

// searchAttrs lists the attributes an account lookup asks for (the maildir
// attribute is LDAP_DEFAULTDELIVERY's for the "courier" service).
func (c *Config) searchAttrs(service string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range append([]string{c.HomeDir, c.maildirAttr(service), c.FullName, c.ClearPW, c.CryptPW, c.UID,
		c.GID, c.Quota}, c.AuxAttrs...) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// maildirAttr is the attribute holding the maildir for service.
func (c *Config) maildirAttr(service string) string {
	if service == "courier" {
		return c.DefaultDelivery
	}
	return c.Maildir
}

// accountFilter builds authlib's lookup filter:
// (&LDAP_FILTER(ATTR=value[@LDAP_DOMAIN])), value already escaped.
func (c *Config) accountFilter(attr, escaped string) string {
	q := "(" + attr + "=" + escaped
	if c.Domain != "" && !strings.Contains(escaped, "@") {
		q += "@" + c.Domain
	}
	q += ")"
	if c.Filter != "" {
		q = "(&" + c.Filter + q + ")"
	}
	return q
}

// emailMapFilter replaces @user@ and @realm@ in LDAP_EMAILMAP as authlib's
// emailmap_replace does; unknown @key@ pairs vanish.
func emailMapFilter(tmpl, userValue, realm string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '@')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		tmpl = tmpl[i+1:]
		key := tmpl
		if j := strings.IndexByte(tmpl, '@'); j >= 0 {
			key, tmpl = tmpl[:j], tmpl[j+1:]
		} else {
			tmpl = ""
		}
		switch key {
		case "user":
			b.WriteString(userValue)
		case "realm":
			b.WriteString(realm)
		}
	}
}
