// Package sqlauth implements courier-authlib's SQL modules authsqlite,
// authpgsql and authmysql: accounts in a database table, read with
// authlib's default query built from the *_FIELD settings of
// authsqliterc / authpgsqlrc / authmysqlrc, or with the administrator's
// *_SELECT_CLAUSE, *_ENUMERATE_CLAUSE and *_CHPASS_CLAUSE.
//
// Unlike authlib, which escapes the login id and pastes it into the SQL
// text, every value ($(local_part), $(domain), $(service), $(newpass),
// $(newpass_crypt), the login id of the default queries) is a bound
// parameter: see Compile.
//
// Outcomes follow authlib: no row is auth.ErrNoUser; a database that
// cannot be reached or a query that fails is auth.ErrTempFail (the chain
// stops), and so is a row authlib refuses as corrupt (fewer than six
// columns, uid or gid 0, no home directory). The configuration file is
// reread when it changes, and the connection pool reopened, as authlib's
// modules do.
//
// A Module is safe for concurrent use; its pool is a database/sql.DB.
package sqlauth

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"courier/internal/auth"
	"courier/internal/auth/authlib"
	"courier/internal/auth/pwhash"
)

// Module names as they appear in authmodulelist.
const (
	SQLiteModule = "authsqlite"
	PGSQLModule  = "authpgsql"
	MySQLModule  = "authmysql"
)

// Pool and time limits.
const (
	// QueryTimeout bounds one query when the caller's context has no
	// deadline (authdaemond gives a whole request 30 seconds).
	QueryTimeout = 30 * time.Second
	// ConnectTimeout bounds establishing one connection.
	ConnectTimeout = 10 * time.Second
	maxOpenConns   = 8
	maxIdleConns   = 4
	connMaxIdle    = 5 * time.Minute
	connMaxLife    = 30 * time.Minute
)

// Module is one SQL account source.
type Module struct {
	dialect Dialect
	rcPath  string

	mu sync.Mutex // guards st
	st *state

	decoy authlib.Decoy // costs unknown users a verification
}

// state is one loaded configuration and its pool.
type state struct {
	cfg   *Config
	db    *sql.DB
	mtime time.Time
	size  int64
}

// New returns the module for dialect d reading its settings from rcPath
// (for example /etc/courier/authmysqlrc). Nothing is read or connected
// until the first request; a configuration error is then a temporary
// failure, as in authlib.
func New(d Dialect, rcPath string) *Module {
	return &Module{dialect: d, rcPath: rcPath}
}

// Name implements auth.Module.
func (m *Module) Name() string {
	switch m.dialect {
	case PostgreSQL:
		return PGSQLModule
	case MySQL:
		return MySQLModule
	}
	return SQLiteModule
}

// Check loads the configuration now and reports an error in it, so a
// caller can warn at start-up instead of at the first login.
func (m *Module) Check() error {
	_, err := m.current()
	return err
}

// Close closes the connection pool.
func (m *Module) Close() error {
	m.mu.Lock()
	st := m.st
	m.st = nil
	m.mu.Unlock()
	if st != nil {
		return st.db.Close()
	}
	return nil
}

// current returns the state for the configuration file as it is on disk,
// loading it and opening a new pool when the file changed. When a changed
// file does not load, the previous settings stay in force (authlib's
// reload does the same).
func (m *Module) current() (*state, error) {
	fi, err := os.Stat(m.rcPath)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if m.st != nil {
			return m.st, nil
		}
		return nil, fmt.Errorf("%s: %v: %w", m.Name(), err, auth.ErrTempFail)
	}
	if m.st != nil && m.st.mtime.Equal(fi.ModTime()) && m.st.size == fi.Size() {
		return m.st, nil
	}
	ns, err := m.load()
	if err != nil {
		if m.st != nil {
			return m.st, nil
		}
		return nil, fmt.Errorf("%s: %v: %w", m.Name(), err, auth.ErrTempFail)
	}
	if old := m.st; old != nil {
		// Close waits for queries in flight; do not hold the lock meanwhile.
		go old.db.Close()
	}
	m.st = ns
	return ns, nil
}

// load reads the configuration file and opens a pool for it.
func (m *Module) load() (*state, error) {
	rc, err := authlib.LoadRC(m.rcPath)
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(m.dialect, rc)
	if err != nil {
		return nil, err
	}
	db, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(m.rcPath)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &state{cfg: cfg, db: db, mtime: fi.ModTime(), size: fi.Size()}, nil
}

// dsnConnector adapts a driver and a DSN to driver.Connector, so no driver
// has to be registered under a global name.
type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// Open opens a connection pool for cfg. No connection is made yet.
func Open(cfg *Config) (*sql.DB, error) {
	var db *sql.DB
	switch cfg.Dialect {
	case SQLite:
		// mode=rw: a missing database file is an error (authlib's
		// sqlite3_open would create an empty one and then fail every query).
		u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: cfg.SQLitePath}).EscapedPath(),
			RawQuery: "mode=rw&_pragma=busy_timeout(5000)"}
		db = sql.OpenDB(dsnConnector{d: &sqlite.Driver{}, dsn: u.String()})
	case PostgreSQL:
		pc, err := pgx.ParseConfig(cfg.PGConnInfo)
		if err != nil {
			return nil, fmt.Errorf("PGSQL_CONNECTION: %w", err)
		}
		if pc.ConnectTimeout == 0 {
			pc.ConnectTimeout = ConnectTimeout
		}
		db = stdlib.OpenDB(*pc)
	case MySQL:
		mc := mysql.NewConfig()
		mc.Net, mc.Addr = cfg.MySQL.mysqlAddr()
		mc.User, mc.Passwd, mc.DBName = cfg.MySQL.User, cfg.MySQL.Password, cfg.MySQL.Database
		mc.Timeout = ConnectTimeout
		mc.TLS = cfg.MySQL.TLS
		if cfg.MySQL.CharSet != "" {
			mc.Params = map[string]string{"charset": cfg.MySQL.CharSet}
		}
		conn, err := mysql.NewConnector(mc)
		if err != nil {
			return nil, fmt.Errorf("mysql: %w", err)
		}
		db = sql.OpenDB(conn)
	default:
		return nil, fmt.Errorf("sqlauth: unknown dialect %v", cfg.Dialect)
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(connMaxIdle)
	db.SetConnMaxLifetime(connMaxLife)
	return db, nil
}

// withTimeout gives ctx QueryTimeout when it has no deadline.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, QueryTimeout)
}

// row is one account as authlib's SELECT returns it.
type row struct {
	login, crypt, clear, home, maildir, quota, name, options string
	uid, gid                                                 int
}

// tempf wraps a temporary failure with the module name.
func (m *Module) tempf(format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", m.Name(), fmt.Sprintf(format, args...), auth.ErrTempFail)
}

// getRow runs the account query for user. No row is auth.ErrNoUser.
func (m *Module) getRow(ctx context.Context, st *state, service, user string) (*row, error) {
	c := st.cfg
	var text string
	var args []any
	if c.Select != nil {
		local, domain := authlib.SplitLogin(user, c.DefaultDomain)
		text, args = c.Select.SQL, c.Select.Args(map[string]string{"local_part": local, "domain": domain, "service": service})
	} else {
		text, args = c.selectSQL(service), []any{authlib.WithDefaultDomain(user, c.DefaultDomain)}
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := st.db.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, m.tempf("query: %v", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, m.tempf("query: %v", err)
		}
		return nil, fmt.Errorf("%s: %.64q: %w", m.Name(), user, auth.ErrNoUser)
	}
	cols, err := scanStrings(rows)
	if err != nil {
		return nil, m.tempf("query: %v", err)
	}
	if len(cols) < 6 {
		return nil, m.tempf("incomplete row, only %d fields returned", len(cols))
	}
	for len(cols) < 10 {
		cols = append(cols, "")
	}
	r := &row{login: cols[0], crypt: cols[1], clear: cols[2], uid: authlib.ParseID(cols[3]),
		gid: authlib.ParseID(cols[4]), home: cols[5], maildir: cols[6], quota: cols[7], name: cols[8], options: cols[9]}
	// authlib treats these rows as a failure of the database, not as an
	// unknown user: the chain stops.
	switch {
	case r.uid == 0:
		return nil, m.tempf("invalid value for uid: %.20q", cols[3])
	case r.gid == 0:
		return nil, m.tempf("invalid value for gid: %.20q", cols[4])
	case r.home == "":
		return nil, m.tempf("required value for 'home' (column 6) is missing")
	}
	return r, nil
}

// scanStrings reads the current row as strings; NULL is "".
func scanStrings(rows *sql.Rows) ([]string, error) {
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.NullString, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = v.String
	}
	return out, nil
}

// account converts a row.
func (m *Module) account(r *row, user string) *auth.Account {
	a := &auth.Account{Address: r.login, UID: r.uid, GID: r.gid, Home: r.home, Maildir: r.maildir,
		Quota: r.quota, FullName: r.name, Passwd: r.crypt, Module: m.Name()}
	if a.Address == "" {
		a.Address = user
	}
	if r.options != "" {
		a.Options = auth.ParseOptions(r.options)
	}
	return a
}

// Lookup implements auth.Module (authlib's PRE): the account with its
// crypted and cleartext passwords.
func (m *Module) Lookup(ctx context.Context, service, user string) (*auth.Account, error) {
	st, err := m.current()
	if err != nil {
		return nil, err
	}
	r, err := m.getRow(ctx, st, service, user)
	if err != nil {
		return nil, err
	}
	a := m.account(r, user)
	a.ClearPasswd = r.clear
	return a, nil
}

// verify checks password against a row as authlib does: the crypted column
// when it is not empty, else the cleartext one, else nothing matches. A nil
// row (unknown user) costs a hash verification too.
func (m *Module) verify(r *row, password string) (bool, error) {
	switch {
	case r == nil:
		m.decoy.Verify(password)
		return false, nil
	case r.crypt != "":
		m.decoy.Remember(r.crypt)
		return pwhash.Verify(r.crypt, password)
	case r.clear != "":
		m.decoy.Verify(password)
		return pwhash.VerifyClear(r.clear, password), nil
	}
	m.decoy.Verify(password)
	return false, nil
}

// Authenticate implements auth.Module: a login with a password, or a CRAM
// response checked against the cleartext column (authlib's CRAM needs one).
func (m *Module) Authenticate(ctx context.Context, req *auth.Request) (*auth.Account, error) {
	st, err := m.current()
	if err != nil {
		return nil, err
	}
	r, err := m.getRow(ctx, st, req.Service, req.User)
	if err != nil && !errors.Is(err, auth.ErrNoUser) {
		return nil, err
	}
	switch req.Mech {
	case auth.MechLogin, "":
		ok, verr := m.verify(r, req.Password)
		if r == nil {
			return nil, err
		}
		if !ok {
			if verr != nil {
				return nil, fmt.Errorf("%s: %.64q: %v: %w", m.Name(), req.User, verr, auth.ErrBadPassword)
			}
			return nil, fmt.Errorf("%s: %.64q: %w", m.Name(), req.User, auth.ErrBadPassword)
		}
		a := m.account(r, req.User)
		a.ClearPasswd = req.Password
		return a, nil
	case auth.MechCRAMMD5, auth.MechCRAMSHA1, auth.MechCRAMSHA256:
		if r == nil {
			return nil, err
		}
		if r.clear == "" {
			return nil, fmt.Errorf("%s: %.64q has no cleartext password for %s: %w", m.Name(), req.User, req.Mech, auth.ErrNotSupported)
		}
		h, _ := pwhash.ParseHMACHash(string(req.Mech))
		want, derr := pwhash.CRAMDigest(h, r.clear, req.Challenge)
		if derr != nil || !pwhash.VerifyCRAM(want, req.Response) {
			return nil, fmt.Errorf("%s: %.64q: %w", m.Name(), req.User, auth.ErrBadPassword)
		}
		a := m.account(r, req.User)
		a.ClearPasswd = r.clear
		return a, nil
	}
	return nil, fmt.Errorf("%s: mechanism %q: %w", m.Name(), req.Mech, auth.ErrNotSupported)
}

// Capabilities implements auth.CapabilityReporter: CRAM when a cleartext
// password column is configured.
func (m *Module) Capabilities() auth.Capabilities {
	caps := auth.Capabilities{CRAM: map[auth.Mechanism]bool{}}
	st, err := m.current()
	if err != nil || st.cfg.ClearField == emptyField {
		return caps
	}
	for _, mech := range []auth.Mechanism{auth.MechCRAMMD5, auth.MechCRAMSHA1, auth.MechCRAMSHA256} {
		caps.CRAM[mech] = true
	}
	return caps
}

// ChangePassword implements auth.Module: after checking the old password,
// the cleartext and crypted columns are updated (the new hash in the old
// one's scheme, as authcryptpasswd), with *_CHPASS_CLAUSE if set.
func (m *Module) ChangePassword(ctx context.Context, service, user, oldPassword, newPassword string) error {
	st, err := m.current()
	if err != nil {
		return err
	}
	r, err := m.getRow(ctx, st, service, user)
	if err != nil && !errors.Is(err, auth.ErrNoUser) {
		return err
	}
	ok, _ := m.verify(r, oldPassword)
	if r == nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: change password %.64q: %w", m.Name(), user, auth.ErrBadPassword)
	}
	crypted, err := authlib.CryptNew(newPassword, r.crypt)
	if err != nil {
		return m.tempf("change password: %v", err)
	}
	c := st.cfg
	var text string
	var args []any
	if c.ChPass != nil {
		local, domain := authlib.SplitLogin(user, c.DefaultDomain)
		text, args = c.ChPass.SQL, c.ChPass.Args(map[string]string{"local_part": local, "domain": domain,
			"newpass": newPassword, "newpass_crypt": crypted})
	} else {
		var names []string
		text, names = c.chpassSQL()
		for _, n := range names {
			switch n {
			case "clear":
				args = append(args, newPassword)
			case "crypt":
				args = append(args, crypted)
			case "login":
				args = append(args, authlib.WithDefaultDomain(user, c.DefaultDomain))
			}
		}
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := st.db.ExecContext(ctx, text, args...); err != nil {
		return m.tempf("change password: %v", err)
	}
	return nil
}

// Enumerate implements auth.Module with *_ENUMERATE_CLAUSE ($(local_part)
// is "*", $(domain) DEFAULT_DOMAIN and $(service) "enumerate", as authlib
// binds them) or the default query. Rows with an empty name are skipped.
func (m *Module) Enumerate(ctx context.Context, fn func(*auth.Account) error) error {
	st, err := m.current()
	if err != nil {
		return err
	}
	c := st.cfg
	text := c.enumerateSQL()
	var args []any
	if c.Enumerate != nil {
		text, args = c.Enumerate.SQL, c.Enumerate.Args(map[string]string{"local_part": "*",
			"domain": c.DefaultDomain, "service": "enumerate"})
	}
	rows, err := st.db.QueryContext(ctx, text, args...)
	if err != nil {
		return m.tempf("enumerate: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		cols, err := scanStrings(rows)
		if err != nil {
			return m.tempf("enumerate: %v", err)
		}
		for len(cols) < 6 {
			cols = append(cols, "")
		}
		if cols[0] == "" {
			continue
		}
		a := &auth.Account{Address: cols[0], UID: authlib.ParseID(cols[1]), GID: authlib.ParseID(cols[2]),
			Home: cols[3], Maildir: cols[4], Module: m.Name()}
		if cols[5] != "" {
			a.Options = auth.ParseOptions(cols[5])
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return m.tempf("enumerate: %v", err)
	}
	return nil
}

// String describes the module for logs.
func (m *Module) String() string {
	return m.Name() + "(" + strings.TrimSpace(m.rcPath) + ")"
}

var (
	_ auth.Module             = (*Module)(nil)
	_ auth.CapabilityReporter = (*Module)(nil)
)
