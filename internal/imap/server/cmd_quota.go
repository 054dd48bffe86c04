package server

import (
	"strconv"
	"strings"
)

// quotaResponse writes "* QUOTA "ROOT" (STORAGE used limit MESSAGE used limit)" (RFC 2087):
// STORAGE in units of 1024 octets. Courier prints `* QUOTA "ROOT"` with no list when there
// is no quota, which RFC 2087's grammar does not allow; we send an empty list.
func (ss *session) quotaResponse(root string) *status {
	q, err := ss.st.Quota()
	if err != nil {
		return storeErr(err, "GETQUOTA")
	}
	var res []string
	if q.LimitBytes > 0 {
		res = append(res, "STORAGE "+strconv.FormatInt((q.Bytes+1023)/1024, 10)+" "+strconv.FormatInt((q.LimitBytes+1023)/1024, 10))
	}
	if q.LimitMessages > 0 {
		res = append(res, "MESSAGE "+strconv.FormatInt(q.Messages, 10)+" "+strconv.FormatInt(q.LimitMessages, 10))
	}
	ss.untagged(`QUOTA "` + root + `" (` + strings.Join(res, " ") + `)`)
	return nil
}

// cmdGetQuotaRoot: RFC 2087 §4.3. Every folder has the one root "ROOT", the Maildir's quota.
func (ss *session) cmdGetQuotaRoot(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	name, err := ss.mailboxArg()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	b := []byte("* QUOTAROOT ")
	b = ss.quoteName(b, name)
	b = append(b, " \"ROOT\"\r\n"...)
	ss.writeRaw(b)
	if st := ss.quotaResponse("ROOT"); st != nil {
		return st
	}
	return ok("", "GETQUOTAROOT Ok.")
}

// cmdGetQuota: RFC 2087 §4.2.
func (ss *session) cmdGetQuota(bool) *status {
	if err := ss.r.SP(); err != nil {
		return wireErr(err)
	}
	root, err := ss.r.AString()
	if err != nil {
		return wireErr(err)
	}
	if err := ss.r.End(); err != nil {
		return wireErr(err)
	}
	if root != "ROOT" && root != "" {
		return no("", "No such quota root.")
	}
	if st := ss.quotaResponse(root); st != nil {
		return st
	}
	return ok("", "GETQUOTA Ok.")
}

// cmdSetQuota: quotas are the administrator's (maildirmake -q, the account's quota field).
func (ss *session) cmdSetQuota(bool) *status {
	return no("", "Permission denied.")
}
