package cli

import (
	"fmt"

	"courier/internal/store/maildir"
)

// newQuickstartAccount returns the userdb fields of the demo account.
func newQuickstartAccount(password string) (map[string]string, error) {
	return map[string]string{}, nil
}

// makeQuickstartMaildir creates the demo Maildir, its folders, and subscribes to them, as a
// new Courier account set up with maildirmake -f looks to an IMAP client.
func makeQuickstartMaildir(path string, folders []string) error {
	if err := maildir.Create(path, maildir.Private, true); err != nil {
		return err
	}
	m, err := maildir.Open(path, nil)
	if err != nil {
		return err
	}
	for _, f := range folders {
		if _, err := m.CreateFolder("INBOX."+f, maildir.Private); err != nil {
			return fmt.Errorf("folder %s: %w", f, err)
		}
		if err := m.Subscribe("INBOX." + f); err != nil {
			return fmt.Errorf("subscribe %s: %w", f, err)
		}
	}
	return nil
}
