package maildrop

// embedded runs maildrop's embedded mode (-m, -M).
func (inv *Invocation) embedded(in *Interp, a *Args, me, user *User, workDir string) int {
	return inv.fail(ExitTempFail, "bad command line arguments: embedded mode (-m, -M) is not supported")
}
