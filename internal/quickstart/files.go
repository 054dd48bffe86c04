package quickstart

// files are the configuration templates, by path under etc/. Each follows the layout and the
// names of Courier's own file of that name; where quickstart departs from Courier's Debian
// defaults, a comment beginning "QUICKSTART:" says so and why.
var files = map[string]string{
	"courierd": `# courierd: process-wide settings of the Courier server.
#
# LOGFORMAT: text (default) or json. The LOGFORMAT environment variable overrides it.
LOGFORMAT=text
# LOGLEVEL: trace, debug, info, warn or error.
LOGLEVEL=info
`,

	"me": `{{.Domain}}
`,
	"defaultdomain": `{{.Domain}}
`,
	"locals": `# locals: domains whose mail is delivered to system accounts.
localhost
`,
	"hosteddomains": `# hosteddomains: virtual domains served here; their accounts live in userdb.
{{.Domain}}
`,
	"esmtpacceptmailfor.dir/quickstart": `# Domains this server accepts mail for (besides locals and hosteddomains).
{{.Domain}}
`,
	"esmtproutes": `# esmtproutes: "domain: relay" lines to route mail for a domain through a relay.
# (empty: mail is sent to each domain's MX)
`,
	"smtpaccess/default": `# smtpaccess: what SMTP connections from an address or network may do
# (couriertcpd(8) "ACCESS FILE"). Run "courier makesmtpaccess" after editing.
#
#   192.168.5<TAB>deny                           drop the connection
#   192.168.0.0/16<TAB>allow,RELAYCLIENT         may relay without AUTH
#   203.0.113.7<TAB>allow,BLOCK="550 Go away."   every recipient refused
#
# QUICKSTART: Courier's default lets 127.0.0.1 relay; here relaying needs AUTH.
`,
	"aliases/system": `# aliases: "name: address, address" lines. Run "courier makealiases" after editing.
postmaster: demo@{{.Domain}}
abuse: demo@{{.Domain}}
`,
	"userdb": `{{.Entry}}
`,

	"authdaemonrc": `# authdaemonrc: the authentication service.
#
# authmodulelist: the modules asked, in order.
authmodulelist="authuserdb"
authmodulelistorig="authuserdb authpam authpgsql authldap authmysql authsqlite authcustom authpipe"
daemons=5
# QUICKSTART: the socket lives under the quickstart directory, not /run/courier/authdaemon.
authdaemonvar={{.Run}}/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
LOGGEROPTS=""
# Failed logins, counted per remote address and per account across IMAP, POP3, SMTP AUTH
# and webmail (ours; Courier has no such setting): LOGIN_THROTTLE_FREE failures pass,
# then each waits LOGIN_THROTTLE_DELAY, doubling up to LOGIN_THROTTLE_MAXDELAY; after
# LOGIN_THROTTLE_LOCKOUT failures logins are refused for LOGIN_THROTTLE_LOCKOUT_TIME.
LOGIN_THROTTLE_FREE=3
LOGIN_THROTTLE_DELAY=1s
LOGIN_THROTTLE_MAXDELAY=16s
LOGIN_THROTTLE_LOCKOUT=10
LOGIN_THROTTLE_LOCKOUT_TIME=5m
`,

	"esmtpd": `# esmtpd: the SMTP server on port 25 (mail from other servers).
ESMTPDSTART=YES
# QUICKSTART: listens on {{.Listen}} only, on port base + 25.
ADDRESS={{.Listen}}
PORT={{call .Port "smtp"}}
MAXDAEMONS=40
# QUICKSTART: 100 connections from one address (Debian: 5), so tests from loopback fit.
MAXPERIP=100
MAXPERC=100
# QUICKSTART: no DNS checks on senders (Debian: BOFHCHECKDNS=1); there may be no DNS.
BOFHCHECKDNS=0
BOFHNOEXPN=1
BOFHNOVRFY=1
TARPIT=0
NOADDMSGID=1
NOADDDATE=1
AUTH_REQUIRED=0
ESMTPAUTH="LOGIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256"
ESMTPAUTH_TLS="PLAIN LOGIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256"
# QUICKSTART: loopback is NOT a relay client (Courier's smtpaccess lets 127.0.0.1 relay):
# relaying needs AUTH, from anywhere.
RELAYCLIENT_FROM=""
# Per-address access (deny, RELAYCLIENT, BLOCK, SIZELIMIT): the smtpaccess/ directory,
# compiled by "courier makesmtpaccess".
ACCESSFILE=${sysconfdir}/smtpaccess
# QUICKSTART (our setting): plain-text AUTH without TLS is accepted from these networks only.
PLAINTEXT_LOGIN_FROM="127.0.0.0/8 ::1"
TLS_CERTFILE={{.Cert}}
TLS_VERIFYPEER=NONE
`,
	"esmtpd-msa": `# esmtpd-msa: the message submission service (port 587). Read after esmtpd.
ESMTPDSTART=YES
ADDRESS={{.Listen}}
PORT={{call .Port "submission"}}
AUTH_REQUIRED=1
NOADDMSGID=0
NOADDDATE=0
`,
	"esmtpd-ssl": `# esmtpd-ssl: SMTP over implicit TLS (port 465). Read after esmtpd.
ESMTPDSSLSTART=YES
SSLADDRESS={{.Listen}}
SSLPORT={{call .Port "smtps"}}
AUTH_REQUIRED=1
`,

	"imapd": `# imapd: the IMAP server (port 143).
IMAPDSTART=YES
ADDRESS={{.Listen}}
PORT={{call .Port "imap"}}
MAXDAEMONS=40
# QUICKSTART: 100 connections from one address (Debian: 20).
MAXPERIP=100
IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE"
IMAP_KEYWORDS=1
IMAP_ACL=1
IMAP_CAPABILITY_TLS="$IMAP_CAPABILITY AUTH=PLAIN"
IMAP_IDLE_TIMEOUT=60
IMAP_TRASHFOLDERNAME=Trash
IMAP_EMPTYTRASH=Trash:7
SMAP_CAPABILITY=SMAP1
MAILDIRPATH=Maildir
# QUICKSTART (our setting): LOGIN and AUTH=PLAIN without TLS are accepted from these
# networks only; everywhere else STARTTLS comes first.
PLAINTEXT_LOGIN_FROM="127.0.0.0/8 ::1"
`,
	"imapd-ssl": `# imapd-ssl: IMAP over implicit TLS (port 993) and STARTTLS on 143.
IMAPDSSLSTART=YES
IMAPDSTARTTLS=YES
SSLADDRESS={{.Listen}}
SSLPORT={{call .Port "imaps"}}
IMAP_TLS_REQUIRED=0
TLS_CERTFILE={{.Cert}}
TLS_VERIFYPEER=NONE
`,

	"pop3d": `# pop3d: the POP3 server (port 110).
POP3DSTART=YES
ADDRESS={{.Listen}}
PORT={{call .Port "pop3"}}
MAXDAEMONS=40
# QUICKSTART: 100 connections from one address (Debian: 4).
MAXPERIP=100
POP3AUTH="LOGIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256"
POP3AUTH_TLS="PLAIN LOGIN"
MAILDIRPATH=Maildir
# QUICKSTART (our setting): USER/PASS without TLS from these networks only.
PLAINTEXT_LOGIN_FROM="127.0.0.0/8 ::1"
`,
	"pop3d-ssl": `# pop3d-ssl: POP3 over implicit TLS (port 995) and STLS on 110.
POP3DSSLSTART=YES
POP3_STARTTLS=YES
SSLADDRESS={{.Listen}}
SSLPORT={{call .Port "pop3s"}}
POP3_TLS_REQUIRED=0
TLS_CERTFILE={{.Cert}}
TLS_VERIFYPEER=NONE
`,

	"webmaild": `# webmaild: the HTTP service: webmail at /, administration at /admin/, Prometheus
# metrics at /metrics. (Courier's sqwebmail runs under a web server; ours serves HTTP itself.)
HTTPDSTART=YES
HTTP_ADDRESS={{.Listen}}
HTTP_PORT={{call .Port "http"}}
HTTPSDSTART=YES
HTTPS_ADDRESS={{.Listen}}
HTTPS_PORT={{call .Port "https"}}
MAXDAEMONS=200
MAXPERIP=100
TLS_CERTFILE={{.Cert}}
# METRICS_ALLOW: addresses or networks that may read /metrics (empty: loopback only).
METRICS_ALLOW=""
`,
}
