package maildirstore

import (
	"strings"

	"courier/internal/store"
)

// FolderDir returns the folder's directory, where per-folder caches of the protocol servers
// (IMAP's header cache, internal/store/hdrcache) live beside the index.
func (m *mailbox) FolderDir() string { return m.f.Path() }

// EachMessageKey calls fn with the UID and the key (the file's base name: its unique name
// without the flags, which a flag change leaves alone) of every message of the view, in UID
// order. One pass over the index: MessageKey's lookup per UID would cost a search each.
func (m *mailbox) EachMessageKey(fn func(uid store.UID, key string)) {
	for i := 0; i < m.ix.Len(); i++ {
		name := m.ix.Name(i)
		if b, _, ok := strings.Cut(name, ":"); ok {
			name = b
		}
		fn(store.UID(m.ix.UID(i)), name)
	}
}
