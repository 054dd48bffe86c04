package smap

import (
	"errors"
	"strconv"
	"strings"

	"courier/internal/store"
	"courier/internal/store/foldername"
)

// cmdList is LIST [path]: without a path the three roots, else the levels just below path,
// each "FOLDER" when a folder of that name exists and "DIRECTORY" when it has folders below.
// Folders the user may not look up ("l") are left out. Shared folders ("public …") are not
// served: the public root lists nothing.
func (s *session) cmdList(w *words) {
	var path []string
	for {
		word := w.next()
		if word == "" {
			break
		}
		path = append(path, word)
	}
	if len(path) == 0 {
		s.writes("* LIST \"INBOX\" \"New Mail\" FOLDER\n* LIST \"INBOX\" \"Folders\" DIRECTORY\n* LIST \"public\" \"Public Folders\" DIRECTORY\n+OK LIST completed\n")
		return
	}
	if path[0] != foldername.Inbox {
		s.writes("+OK LIST completed\n")
		return
	}
	list, err := s.st.List()
	if err != nil {
		s.log.Warn("smap: list", "err", err)
		s.writes("+OK LIST completed\n")
		return
	}
	type found struct {
		name  string
		flags int
	}
	const isFolder, isDir = 1, 2
	var order []string
	seen := map[string]*found{}
	for _, f := range list {
		p, err := smapPath(f.Name)
		if err != nil || len(p) <= len(path) {
			continue
		}
		match := true
		for i := range path {
			if p[i] != path[i] {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if r, err := s.rightsOf(f.Name); err != nil || !strings.Contains(r, "l") {
			continue
		}
		child := p[len(path)]
		e := seen[child]
		if e == nil {
			e = &found{name: child}
			seen[child] = e
			order = append(order, child)
		}
		if len(p) > len(path)+1 {
			e.flags |= isDir
		} else {
			e.flags |= isFolder
		}
	}
	for _, c := range order {
		e := seen[c]
		s.writes("* LIST " + quote(c) + " " + quote(c))
		if e.flags&isFolder != 0 {
			s.writes(" FOLDER")
		}
		if e.flags&isDir != 0 {
			s.writes(" DIRECTORY")
		}
		s.writes("\n")
	}
	s.writes("+OK LIST completed\n")
}

// cmdStatus is STATUS mode path: the folder's message count and unseen count. The mode word
// (CHEAP, FULL) is read and ignored, as Courier does.
func (s *session) cmdStatus(w *words) {
	w.next()
	name, err := s.folder(w)
	if err != nil {
		s.writes("-ERR Cannot read folder status: " + errText(err) + "\n")
		return
	}
	r, err := s.rightsOf(name)
	if err != nil {
		s.writes("-ERR Cannot read folder status: " + errText(err) + "\n")
		return
	}
	if !strings.Contains(r, "l") {
		s.accessDenied("l")
		return
	}
	var msgs []store.Message
	if s.mb != nil && s.mbName == name {
		msgs = s.msgs
	} else {
		mb, err := s.st.Open(name)
		if err != nil {
			s.writes("-ERR Cannot read folder status: " + errText(err) + "\n")
			return
		}
		msgs = mb.Messages()
		if err := mb.Close(); err != nil {
			s.log.Warn("smap: close after status", "err", err)
		}
	}
	unseen := 0
	for _, m := range msgs {
		if m.Flags&store.Seen == 0 {
			unseen++
		}
	}
	s.writes("* STATUS EXISTS=" + strconv.Itoa(len(msgs)) + " UNSEEN=" + strconv.Itoa(unseen) + "\n+OK Folder status retrieved\n")
}

// createCheck reads a new folder's path and checks the user's rights on its parent (Courier's
// getCreateFolder). It returns the IMAP name, or "" after writing the error.
func (s *session) createCheck(w *words, right string) string {
	p, err := w.path()
	if err == nil && len(p) < 2 {
		err = errSyntax
	}
	var name string
	if err == nil {
		name, err = imapName(p)
	}
	if err == nil {
		parent, _ := imapName(p[:len(p)-1])
		var r string
		if r, err = s.rightsOf(parent); err == nil && !strings.Contains(r, right) {
			s.accessDenied(right)
			return ""
		}
	}
	if err != nil {
		s.writes("-ERR Cannot create folder: " + errText(err) + "\n")
		return ""
	}
	return name
}

func (s *session) cmdCreate(w *words) {
	name := s.createCheck(w, "c")
	if name == "" {
		return
	}
	if err := s.st.Create(name); err != nil {
		s.writes("-ERR Cannot create folder: " + errText(err) + "\n")
		return
	}
	s.writes("+OK Folder created\n")
}

// cmdMkdir is MKDIR and RMDIR: a Maildir++ hierarchy level exists only through its folders,
// so Courier only checks the name and the rights and reports success.
func (s *session) cmdMkdir(w *words, right, ok string) {
	if s.createCheck(w, right) == "" {
		return
	}
	s.writes(ok)
}

func (s *session) cmdDelete(w *words) {
	p, err := w.path()
	var name string
	if err == nil {
		name, err = imapName(p)
	}
	if err != nil {
		s.writes("-ERR Unable to delete folder: " + errText(err) + "\n")
		return
	}
	if foldername.IsInbox(name) {
		s.writes("-ERR INBOX may not be deleted\n")
		return
	}
	r, err := s.rightsOf(name)
	if err != nil || !strings.Contains(r, "x") {
		s.accessDenied("x")
		return
	}
	if s.mb != nil && s.mbName == name {
		s.writes("-ERR Cannot DELETE currently open folder.\n")
		return
	}
	if err := s.st.Delete(name); err != nil {
		s.writes("-ERR Cannot delete folder: " + errText(err) + "\n")
		return
	}
	s.writes("+OK Folder deleted\n")
}

func (s *session) cmdRename(w *words) {
	src, err := w.path()
	if err != nil {
		s.writes("-ERR " + errText(err) + "\n")
		return
	}
	dst, err := w.path()
	if err != nil {
		s.writes("-ERR " + errText(err) + "\n")
		return
	}
	from, err := imapName(src)
	if err != nil {
		s.accessDenied("x")
		return
	}
	if r, err := s.rightsOf(from); err != nil || !strings.Contains(r, "x") {
		s.accessDenied("x")
		return
	}
	parent, err := imapName(dst[:len(dst)-1])
	if err != nil || len(dst) < 2 {
		s.accessDenied("c")
		return
	}
	if r, err := s.rightsOf(parent); err != nil || !strings.Contains(r, "c") {
		s.accessDenied("c")
		return
	}
	to, err := imapName(dst)
	if err != nil {
		s.writes("-ERR Internal error in RENAME: " + errText(err) + "\n")
		return
	}
	// Courier renames every folder at or below src and reports success when there is none.
	if err := s.st.Rename(from, to); err != nil && !errors.Is(err, store.ErrNotFound) {
		msg := errText(err)
		if errors.Is(err, store.ErrExists) {
			msg = "Destination folder name already exists."
		}
		s.writes("-ERR " + msg + "\n")
		return
	}
	s.writes("+OK Folder renamed.\n")
}
