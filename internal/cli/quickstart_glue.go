package cli

import (
	"os"
	"path/filepath"
)

// newQuickstartAccount returns the userdb fields of the demo account.
func newQuickstartAccount(password string) (map[string]string, error) {
	return map[string]string{}, nil
}

// makeQuickstartMaildir creates the demo Maildir and its folders.
func makeQuickstartMaildir(path string, folders []string) error {
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(path, d), 0o700); err != nil {
			return err
		}
	}
	return nil
}
