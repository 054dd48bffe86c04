package server

import (
	"strings"
)

// States a command may run in, as a bit set.
const (
	inNotAuth  = 1 << stateNotAuth
	inAuth     = 1 << stateAuth
	inSelected = 1 << stateSelected
	inAny      = inNotAuth | inAuth | inSelected
	inLoggedIn = inAuth | inSelected
)

// command is one IMAP command: the states it runs in and its handler. uid says the handler
// also serves the "UID" prefixed form, with the flag passed in.
type cmdSpec struct {
	states int
	uid    bool
	run    func(ss *session, uid bool) *status
}

// commands is the command table; one file per command implements its handler.
var commands = map[string]cmdSpec{
	"CAPABILITY":   {inAny, false, (*session).cmdCapability},
	"NOOP":         {inAny, false, (*session).cmdNoop},
	"LOGOUT":       {inAny, false, (*session).cmdLogout},
	"ID":           {inAny, false, (*session).cmdID},
	"STARTTLS":     {inNotAuth, false, (*session).cmdStartTLS},
	"LOGIN":        {inNotAuth, false, (*session).cmdLogin},
	"AUTHENTICATE": {inNotAuth, false, (*session).cmdAuthenticate},
	"ENABLE":       {inLoggedIn, false, (*session).cmdEnable},
	"SELECT":       {inLoggedIn, false, (*session).cmdSelect},
	"EXAMINE":      {inLoggedIn, false, (*session).cmdExamine},
	"CREATE":       {inLoggedIn, false, (*session).cmdCreate},
	"DELETE":       {inLoggedIn, false, (*session).cmdDelete},
	"RENAME":       {inLoggedIn, false, (*session).cmdRename},
	"SUBSCRIBE":    {inLoggedIn, false, (*session).cmdSubscribe},
	"UNSUBSCRIBE":  {inLoggedIn, false, (*session).cmdUnsubscribe},
	"LIST":         {inLoggedIn, false, (*session).cmdList},
	"LSUB":         {inLoggedIn, false, (*session).cmdLsub},
	"STATUS":       {inLoggedIn, false, (*session).cmdStatus},
	"APPEND":       {inLoggedIn, false, (*session).cmdAppend},
	"NAMESPACE":    {inLoggedIn, false, (*session).cmdNamespace},
	"GETQUOTA":     {inLoggedIn, false, (*session).cmdGetQuota},
	"GETQUOTAROOT": {inLoggedIn, false, (*session).cmdGetQuotaRoot},
	"SETQUOTA":     {inLoggedIn, false, (*session).cmdSetQuota},
	"GETACL":       {inLoggedIn, false, (*session).cmdGetACL},
	"SETACL":       {inLoggedIn, false, (*session).cmdSetACL},
	"DELETEACL":    {inLoggedIn, false, (*session).cmdDeleteACL},
	"LISTRIGHTS":   {inLoggedIn, false, (*session).cmdListRights},
	"MYRIGHTS":     {inLoggedIn, false, (*session).cmdMyRights},
	"CHECK":        {inSelected, false, (*session).cmdCheck},
	"CLOSE":        {inSelected, false, (*session).cmdClose},
	"UNSELECT":     {inSelected, false, (*session).cmdUnselect},
	"EXPUNGE":      {inSelected, true, (*session).cmdExpunge},
	"SEARCH":       {inSelected, true, (*session).cmdSearch},
	"FETCH":        {inSelected, true, (*session).cmdFetch},
	"STORE":        {inSelected, true, (*session).cmdStore},
	"COPY":         {inSelected, true, (*session).cmdCopy},
	"MOVE":         {inSelected, true, (*session).cmdMove},
	"SORT":         {inSelected, true, (*session).cmdSort},
	"THREAD":       {inSelected, true, (*session).cmdThread},
	"IDLE":         {inLoggedIn, false, (*session).cmdIdle},
}

// dispatch reads the command name (and UID prefix) and runs the handler.
func (ss *session) dispatch() *status {
	if err := ss.r.SP(); err != nil {
		return bad("", "Missing command")
	}
	name, err := ss.r.Atom()
	if err != nil {
		return bad("", "Missing command")
	}
	name = strings.ToUpper(name)
	uid := false
	if name == "UID" {
		if err := ss.r.SP(); err != nil {
			return errUnknown
		}
		if name, err = ss.r.Atom(); err != nil {
			return errUnknown
		}
		name = strings.ToUpper(name)
		uid = true
	}
	spec, found := commands[name]
	if !found || (uid && !spec.uid) || !ss.enabled(name) {
		return errUnknown
	}
	if spec.states&(1<<ss.state) == 0 {
		if ss.state == stateNotAuth {
			return bad("", "Please log in first.")
		}
		return errUnknown
	}
	ss.listView()
	return spec.run(ss, uid)
}

// enabled reports whether a command is switched on by the configuration.
func (ss *session) enabled(name string) bool {
	switch name {
	case "SORT", "THREAD":
		return !ss.set.DisableThreadSort
	}
	return true
}
