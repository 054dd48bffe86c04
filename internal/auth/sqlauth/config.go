package sqlauth

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"courier/internal/auth/authlib"
)

// emptyField is authlib's default for an optional column: an empty string
// literal, so the SELECT keeps its ten columns.
const emptyField = "''"

// Config is a loaded auth*rc: the connection settings and the query
// pieces, named as authlib names them (with the SQLITE_, PGSQL_ or MYSQL_
// prefix).
type Config struct {
	Dialect Dialect

	// Column expressions (SQL fragments written by the administrator).
	UserTable, LoginField, CryptField, ClearField, UIDField, GIDField, HomeField,
	MaildirField, DefaultDeliveryField, QuotaField, NameField, OptionsField string
	WhereClause   string // pasted as it is, as authlib does
	DefaultDomain string // DEFAULT_DOMAIN

	// Custom statements, compiled; nil when not set.
	Select, Enumerate, ChPass *Query

	// Connection.
	SQLitePath string // SQLITE_DATABASE
	PGConnInfo string // PGSQL_CONNECTION (+ client_encoding from PGSQL_CHARACTER_SET)
	MySQL      MySQLConn
}

// MySQLConn holds the MYSQL_* connection settings.
type MySQLConn struct {
	Server, Socket, User, Password, Database, CharSet string
	Port                                              int
	TLS                                               *tls.Config
}

// prefix returns the setting prefix of d.
func prefix(d Dialect) string {
	switch d {
	case PostgreSQL:
		return "PGSQL_"
	case MySQL:
		return "MYSQL_"
	}
	return "SQLITE_"
}

// RCName returns the configuration file name authlib uses for d.
func RCName(d Dialect) string {
	switch d {
	case PostgreSQL:
		return "authpgsqlrc"
	case MySQL:
		return "authmysqlrc"
	}
	return "authsqliterc"
}

// ParseConfig reads the settings of dialect d from rc, with authlib's
// defaults (uid, gid, id, home; ” for the optional columns; 1=1 for the
// WHERE clause) and its checks (a user table, and a crypted or cleartext
// password column, are required).
func ParseConfig(d Dialect, rc *authlib.RCFile) (*Config, error) {
	p := prefix(d)
	c := &Config{Dialect: d}
	get := func(name, def string) string { return rc.String(p+name, def) }
	c.UserTable = get("USER_TABLE", "")
	if c.UserTable == "" {
		return nil, fmt.Errorf("%s: %sUSER_TABLE not set", rc.Path, p)
	}
	c.UIDField = get("UID_FIELD", "uid")
	c.GIDField = get("GID_FIELD", "gid")
	c.NameField = get("NAME_FIELD", emptyField)
	c.LoginField = get("LOGIN_FIELD", "id")
	c.HomeField = get("HOME_FIELD", "home")
	c.MaildirField = get("MAILDIR_FIELD", emptyField)
	if d == MySQL {
		c.DefaultDeliveryField = get("DEFAULTDELIVERY_FIELD", emptyField)
	} else {
		c.DefaultDeliveryField = get("DEFAULTDELIVERY", emptyField)
	}
	c.QuotaField = get("QUOTA_FIELD", emptyField)
	c.OptionsField = get("AUXOPTIONS_FIELD", emptyField)
	c.WhereClause = get("WHERE_CLAUSE", "1=1")
	c.CryptField = get("CRYPT_PWFIELD", emptyField)
	c.ClearField = get("CLEAR_PWFIELD", emptyField)
	c.DefaultDomain = rc.String("DEFAULT_DOMAIN", "")
	if c.CryptField == emptyField && c.ClearField == emptyField {
		return nil, fmt.Errorf("%s: %sCRYPT_PWFIELD and %sCLEAR_PWFIELD not set", rc.Path, p, p)
	}
	for _, cl := range []struct {
		name string
		dst  **Query
	}{{"SELECT_CLAUSE", &c.Select}, {"ENUMERATE_CLAUSE", &c.Enumerate}, {"CHPASS_CLAUSE", &c.ChPass}} {
		v := get(cl.name, "")
		if v == "" {
			continue
		}
		q, err := Compile(d, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s%s: %w", rc.Path, p, cl.name, err)
		}
		*cl.dst = &q
	}
	switch d {
	case SQLite:
		c.SQLitePath = get("DATABASE", "")
		if c.SQLitePath == "" {
			return nil, fmt.Errorf("%s: SQLITE_DATABASE not set", rc.Path)
		}
	case PostgreSQL:
		// authlib hands PGSQL_CONNECTION to PQconnectdb and nothing else:
		// the database is its dbname=; the sample file's PGSQL_DATABASE is
		// not read by the module, so it is not read here either.
		c.PGConnInfo = strings.TrimSpace(get("CONNECTION", ""))
		if cs := get("CHARACTER_SET", ""); cs != "" {
			c.PGConnInfo += " client_encoding=" + pgQuote(cs)
		}
	case MySQL:
		if err := parseMySQL(c, rc); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// pgQuote quotes a conninfo value.
func pgQuote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// parseMySQL reads the MYSQL_* connection settings with authlib's checks.
func parseMySQL(c *Config, rc *authlib.RCFile) error {
	m := &c.MySQL
	m.Server = rc.String("MYSQL_SERVER", "")
	m.Socket = rc.String("MYSQL_SOCKET", "")
	m.User = rc.String("MYSQL_USERNAME", "")
	m.Password = rc.String("MYSQL_PASSWORD", "")
	m.Database = rc.String("MYSQL_DATABASE", "")
	m.CharSet = rc.String("MYSQL_CHARACTER_SET", "")
	var err error
	// authlib refuses a file without MYSQL_PORT/MYSQL_OPT; we take 0.
	if m.Port, err = rc.Int("MYSQL_PORT", 0); err != nil {
		return err
	}
	if _, err = rc.Int("MYSQL_OPT", 0); err != nil {
		return err
	}
	switch {
	case m.Server == "" && m.Socket == "":
		return fmt.Errorf("%s: MYSQL_SERVER nor MYSQL_SOCKET set", rc.Path)
	case m.User == "":
		return fmt.Errorf("%s: MYSQL_USERNAME not set", rc.Path)
	case m.Database == "":
		return fmt.Errorf("%s: MYSQL_DATABASE not set", rc.Path)
	}
	ca, capath := rc.String("MYSQL_SSL_CACERT", ""), rc.String("MYSQL_SSL_CAPATH", "")
	if ca == "" && capath == "" {
		return nil
	}
	// As libmysqlclient: TLS when a CA is named, verifying the server.
	pool := x509.NewCertPool()
	var files []string
	if ca != "" {
		files = append(files, ca)
	}
	if capath != "" {
		ents, err := os.ReadDir(capath)
		if err != nil {
			return fmt.Errorf("%s: MYSQL_SSL_CAPATH: %w", rc.Path, err)
		}
		for _, e := range ents {
			files = append(files, capath+"/"+e.Name())
		}
	}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("%s: MYSQL_SSL_CACERT: %w", rc.Path, err)
		}
		pool.AppendCertsFromPEM(pem)
	}
	host := m.Server
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	m.TLS = &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}
	if cert, key := rc.String("MYSQL_SSL_CERT", ""), rc.String("MYSQL_SSL_KEY", ""); cert != "" {
		if key == "" {
			key = cert
		}
		kp, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return fmt.Errorf("%s: MYSQL_SSL_CERT/KEY: %w", rc.Path, err)
		}
		m.TLS.Certificates = []tls.Certificate{kp}
	}
	return nil
}

// mysqlAddr returns the network and address libmysqlclient would use:
// MYSQL_SOCKET if set; for the host "localhost" the default Unix socket (as
// libmysqlclient does); otherwise TCP to MYSQL_SERVER:MYSQL_PORT (3306 when 0).
func (m *MySQLConn) mysqlAddr() (string, string) {
	if m.Socket != "" {
		return "unix", m.Socket
	}
	if m.Server == "localhost" {
		return "unix", "/run/mysqld/mysqld.sock"
	}
	port := m.Port
	if port == 0 {
		port = 3306
	}
	return "tcp", net.JoinHostPort(m.Server, strconv.Itoa(port))
}

// selectSQL builds authlib's default account query: ten columns (the
// maildir column is DEFAULTDELIVERY's for the "courier" service) from the
// user table where the login column equals the bound login id (with
// DEFAULT_DOMAIN added when it has no "@") and the WHERE clause holds.
func (c *Config) selectSQL(service string) string {
	maildir := c.MaildirField
	if service == "courier" {
		maildir = c.DefaultDeliveryField
	}
	return "SELECT " + strings.Join([]string{c.LoginField, c.CryptField, c.ClearField, c.UIDField, c.GIDField,
		c.HomeField, maildir, c.QuotaField, c.NameField, c.OptionsField}, ", ") +
		" FROM " + c.UserTable + " WHERE " + c.LoginField + " = " + c.ph(1) + " AND (" + c.WhereClause + ")"
}

// enumerateSQL builds authlib's default enumeration query.
func (c *Config) enumerateSQL() string {
	return "SELECT " + strings.Join([]string{c.LoginField, c.UIDField, c.GIDField, c.HomeField, c.MaildirField,
		c.OptionsField}, ", ") + " FROM " + c.UserTable + " WHERE " + c.WhereClause
}

// chpassSQL builds authlib's default password update: the cleartext and the
// crypted column, whichever are configured, then the login id. It returns
// the statement and which values to bind ("clear", "crypt", "login").
func (c *Config) chpassSQL() (string, []string) {
	var set []string
	var args []string
	if c.ClearField != emptyField {
		args = append(args, "clear")
		set = append(set, c.ClearField+"="+c.ph(len(args)))
	}
	if c.CryptField != emptyField {
		args = append(args, "crypt")
		set = append(set, c.CryptField+"="+c.ph(len(args)))
	}
	args = append(args, "login")
	return "UPDATE " + c.UserTable + " SET " + strings.Join(set, ", ") + " WHERE " + c.LoginField + "=" + c.ph(len(args)), args
}

// ph is the n-th placeholder.
func (c *Config) ph(n int) string {
	if c.Dialect == PostgreSQL {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}
