// Package httpd is the HTTP side of the server: it adapts net/http to the connection
// handling of netx (so HTTP gets the same limits, ids and draining as every other service)
// and serves the status page at / and Prometheus metrics at /metrics.
//
// /metrics answers only clients whose address is in the allow list (loopback by default),
// since metrics reveal traffic figures a stranger has no business reading.
package httpd

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"courier/internal/netx"
)

// Status is what the status page shows.
type Status struct {
	Version   string
	Started   time.Time
	Listeners []string // "imap 127.0.0.1:10143"
	Missing   []string // services configured but not available in this build
}

// Options configure the HTTP service.
type Options struct {
	Log          *slog.Logger
	Metrics      http.Handler
	MetricsAllow []netip.Prefix // who may read /metrics; empty means loopback only
	Status       func() Status
	// Extra handlers mounted on the mux (webmail, admin) by later components.
	Mount map[string]http.Handler
}

// Server is a netx.Handler that serves HTTP on the connections it is handed.
type Server struct {
	opts Options
	ln   *chanListener
	srv  *http.Server
	once sync.Once
}

// New makes the HTTP server; it starts serving on the first connection.
func New(o Options) *Server {
	s := &Server{opts: o, ln: newChanListener()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.status)
	mux.Handle("GET /metrics", s.onlyAllowed(o.Metrics))
	for p, h := range o.Mount {
		mux.Handle(p, h)
	}
	s.srv = &http.Server{
		Handler:           securityHeaders(mux),
		ReadHeaderTimeout: 20 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
	return s
}

// ServeConn implements netx.Handler: the connection joins the http.Server's pool, which
// closes it (and so frees its netx slot) when the client is done.
func (s *Server) ServeConn(ctx context.Context, c *netx.Conn) {
	s.once.Do(func() {
		go func() {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				s.opts.Log.Error("http server stopped", "err", err)
			}
		}()
	})
	if !s.ln.push(c) {
		c.Close()
	}
}

// Refuse implements netx.Handler.
func (s *Server) Refuse(c net.Conn, reason string) {
	fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s\n", len(reason)+1, reason)
}

// Shutdown stops the http.Server, closing idle keep-alive connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ln.Close()
	return s.srv.Shutdown(ctx)
}

func (s *Server) onlyAllowed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h == nil || !s.allowed(r.RemoteAddr) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) allowed(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	if len(s.opts.MetricsAllow) == 0 {
		return a.IsLoopback()
	}
	for _, p := range s.opts.MetricsAllow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Courier</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto;color:#222}code{background:#eee;padding:0 .2em}</style>
</head><body>
<h1>Courier mail server</h1>
<p>Version {{.Version}}, up since {{.Started.Format "2006-01-02 15:04:05 MST"}}.</p>
<h2>Listening</h2>
<ul>{{range .Listeners}}<li><code>{{.}}</code></li>{{end}}</ul>
{{if .Missing}}<h2>Configured but not in this build yet</h2>
<ul>{{range .Missing}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p>Webmail will be served here once it is built. Metrics: <a href="/metrics">/metrics</a> (loopback only).</p>
</body></html>
`))

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	var st Status
	if s.opts.Status != nil {
		st = s.opts.Status()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusPage.Execute(w, st); err != nil {
		s.opts.Log.Warn("status page", "err", err)
	}
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// chanListener is a net.Listener fed by ServeConn.
type chanListener struct {
	ch     chan net.Conn
	done   chan struct{}
	closer sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closer.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }
