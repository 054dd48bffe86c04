package maildirstore

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"

	"courier/internal/store/keywords"
	"courier/internal/store/maildir"
)

// watcher multiplexes one inotify instance over the open views of a Store.
type watcher struct {
	fw   *fsnotify.Watcher
	mu   sync.Mutex
	subs map[string]map[*mailbox]bool // folder directory to its open views
	done chan struct{}
}

func newWatcher() (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("maildirstore: watch: %w", err)
	}
	w := &watcher{fw: fw, subs: map[string]map[*mailbox]bool{}, done: make(chan struct{})}
	go w.loop()
	return w, nil
}

func watchedDirs(folder string) []string {
	return []string{filepath.Join(folder, maildir.New), filepath.Join(folder, maildir.Cur), filepath.Join(folder, keywords.DirName)}
}

// add starts notifying m of changes to its folder.
func (w *watcher) add(m *mailbox) {
	w.mu.Lock()
	defer w.mu.Unlock()
	dir := m.f.Path()
	if w.subs[dir] == nil {
		w.subs[dir] = map[*mailbox]bool{}
		for _, d := range watchedDirs(dir) {
			_ = w.fw.Add(d) // courierimapkeywords/ may not exist: then keyword changes are found by Sync
		}
	}
	w.subs[dir][m] = true
}

// remove stops notifying m.
func (w *watcher) remove(m *mailbox) {
	w.mu.Lock()
	defer w.mu.Unlock()
	dir := m.f.Path()
	delete(w.subs[dir], m)
	if len(w.subs[dir]) == 0 {
		delete(w.subs, dir)
		for _, d := range watchedDirs(dir) {
			_ = w.fw.Remove(d)
		}
	}
}

func (w *watcher) loop() {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			w.notify(filepath.Dir(filepath.Dir(ev.Name)))
		case _, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			// an overflow lost events: tell every view to look
			w.mu.Lock()
			for dir := range w.subs {
				w.notifyLocked(dir)
			}
			w.mu.Unlock()
		}
	}
}

func (w *watcher) notify(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.notifyLocked(dir)
}

func (w *watcher) notifyLocked(dir string) {
	for m := range w.subs[dir] {
		select {
		case m.updates <- struct{}{}:
		default:
		}
	}
}

func (w *watcher) close() error {
	err := w.fw.Close()
	<-w.done
	if err != nil {
		return fmt.Errorf("maildirstore: close watcher: %w", err)
	}
	return nil
}
