//go:build cgo

package main

import (
	"fmt"

	"github.com/msteinert/pam/v2"
)

// check runs pam_authenticate and pam_acct_mgmt for user in service.
func check(service, user, password, confDir, rhost string) (Outcome, string) {
	conv := pam.ConversationFunc(func(s pam.Style, msg string) (string, error) {
		switch s {
		case pam.PromptEchoOff:
			return password, nil
		case pam.PromptEchoOn:
			return user, nil
		case pam.ErrorMsg, pam.TextInfo:
			return "", nil
		}
		return "", fmt.Errorf("unsupported PAM conversation style %v", s)
	})
	var t *pam.Transaction
	var err error
	if confDir != "" {
		if !pam.CheckPamHasStartConfdir() {
			return Error, "this libpam has no pam_start_confdir"
		}
		t, err = pam.StartConfDir(service, user, conv, confDir)
	} else {
		t, err = pam.Start(service, user, conv)
	}
	if err != nil {
		return Error, "pam_start: " + err.Error()
	}
	defer t.End()
	if rhost != "" {
		if err := t.SetItem(pam.Rhost, rhost); err != nil {
			return Error, "pam_set_item: " + err.Error()
		}
	}
	if err := t.Authenticate(pam.DisallowNullAuthtok); err != nil {
		return outcome("pam_authenticate", err)
	}
	if err := t.AcctMgmt(pam.DisallowNullAuthtok); err != nil {
		return outcome("pam_acct_mgmt", err)
	}
	return OK, ""
}

// outcome reports a PAM refusal. Every error of pam_authenticate and
// pam_acct_mgmt is a refusal, as in courier-authlib's authpam (pam_exec,
// for one, reports a rejecting program as PAM_SYSTEM_ERR); only a
// transaction that cannot start is an Error.
func outcome(step string, err error) (Outcome, string) {
	return Fail, step + ": " + err.Error()
}
