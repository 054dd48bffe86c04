package smap

import (
	"strings"

	"courier/internal/store"
)

// cmdCopy is COPY set "" path and MOVE set "" path: each message copied is reported as
// "* COPY n "NEWUID=…"", and a MOVE then reports the messages gone from this folder.
func (s *session) cmdCopy(move bool, w *words) {
	set, word, err := parseMsgSet(w)
	if err != nil || set == nil || word != "" {
		s.writes("-ERR Syntax error.\n")
		return
	}
	name, err := s.folder(w)
	if err != nil {
		s.writes("-ERR Cannot copy messages: " + errText(err) + "\n")
		return
	}
	r, err := s.rightsOf(name)
	if err != nil {
		s.writes("-ERR Cannot copy messages: " + errText(err) + "\n")
		return
	}
	if !strings.Contains(r, "i") {
		s.accessDenied("i")
		return
	}
	var uids []store.UID
	var nums []int
	set.each(len(s.msgs), func(n int) bool {
		uids = append(uids, s.msgs[n-1].UID)
		nums = append(nums, n)
		return true
	})
	dst, err := s.st.Open(name)
	if err != nil {
		s.writes("-ERR Cannot copy messages: " + errText(err) + "\n")
		return
	}
	defer func() {
		if err := dst.Close(); err != nil {
			s.log.Warn("smap: close copy target", "folder", name, "err", err)
		}
	}()
	if len(uids) == 0 {
		s.writes("+OK Messages copied.\n")
		return
	}
	var got []store.UID
	if move {
		got, err = s.mb.Move(uids, dst)
	} else {
		got, err = s.mb.Copy(uids, dst)
	}
	if err != nil {
		s.writes("-ERR Cannot copy messages: " + errText(err) + "\n")
		return
	}
	for i, u := range s.newUIDStrings(dst, got) {
		if i < len(nums) {
			s.writes("* COPY " + itoa(nums[i]) + ` "NEWUID=` + quoteBody(u) + "\"\n")
		}
	}
	if move {
		s.reportExpunged(uids)
		s.noop()
	}
	s.writes("+OK Messages copied.\n")
}
