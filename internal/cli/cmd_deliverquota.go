package cli

import "courier/internal/mda"

func init() {
	register(&Command{
		Name:  "deliverquota",
		Usage: "[-c] [-w percent] [-W file] maildir [quota]",
		Short: "deliver the message on standard input to a maildir, observing its quota",
		Link:  true,
		Run:   func(e *Env) int { return mda.Deliverquota(e.mda()) },
	})
}
