package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/engine"
)

func explainCommand(e *env, opts *options) *cobra.Command {
	var diff bool
	c := &cobra.Command{
		Use:   "explain LABEL",
		Short: "Print an image's key and every input it covers",
		Long: `Explain prints the key of one image and the named inputs it was computed
from. With --diff it names each input that differs from the last bake of that
image the cache holds: the reason a build would bake it again. An image's
tests have a digest of their own, printed after its key: they decide whether
an image is kept, not what it holds, so a change to them re-tests the image
and never rebakes it; --diff says whether the last bake passed these tests.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(opts, "text", "json"); err != nil {
				return err
			}
			s, err := openSession(e, opts)
			if err != nil {
				return err
			}
			l, err := s.single("explain", args[0])
			if err != nil {
				return err
			}
			a, err := s.analyze(c.Context(), []string{l.String()})
			if err != nil {
				return err
			}
			key := a.Keys[l]
			var tests *testsJSON
			if key.Tests != "" {
				tests = &testsJSON{Digest: key.Tests, Parts: key.TestParts}
			}
			if !diff {
				if opts.output == "json" {
					return writeJSON(e.stdout, explainJSON{Label: l.String(), Key: key.Hex, Parts: key.Parts, Tests: tests})
				}
				fmt.Fprintf(e.stdout, "%s\nkey %s\n", l, key.Hex)
				writeParts(e.stdout, key.Parts, "  ")
				writeTests(e.stdout, key)
				return nil
			}
			caches, err := s.cache(c.Context())
			if err != nil {
				return err
			}
			since, err := engine.SinceLastBake(c.Context(), caches.store, l, key)
			if err != nil {
				return err
			}
			out := explainJSON{Label: l.String(), Key: key.Hex, Parts: key.Parts, Tests: tests, Changes: []string{}}
			switch {
			case since.Last == nil:
				out.Status = "never baked"
			case since.Unchanged(key):
				out.Status = "unchanged"
				out.LastKey = since.Last.Key
				if tests != nil {
					tests.Status = "passed"
					if since.Last.Tested != key.Tests {
						tests.Status = "changed"
					}
				}
			default:
				out.Status = "changed"
				out.LastKey = since.Last.Key
				if !since.Comparable {
					out.Changes = append(out.Changes, "the last bake recorded no inputs to compare")
				}
				for _, ch := range since.Changes {
					out.Changes = append(out.Changes, ch.String())
				}
			}
			if opts.output == "json" {
				return writeJSON(e.stdout, out)
			}
			fmt.Fprintf(e.stdout, "%s\nkey %s\n", l, key.Hex)
			switch out.Status {
			case "never baked":
				fmt.Fprintln(e.stdout, "never baked: the cache holds no bake of this image")
			case "unchanged":
				fmt.Fprintln(e.stdout, "unchanged since the last bake")
				if tests != nil && tests.Status == "changed" {
					fmt.Fprintf(e.stdout, "tests %s: not the tests the last bake passed; a build tests it again, without baking\n", bake.ShortKey(key.Tests))
				} else if tests != nil {
					fmt.Fprintf(e.stdout, "tests %s: passed by the last bake\n", bake.ShortKey(key.Tests))
				}
			default:
				fmt.Fprintf(e.stdout, "changed since the last bake (key %s):\n", bake.ShortKey(out.LastKey))
				for _, ch := range out.Changes {
					fmt.Fprintf(e.stdout, "  %s\n", ch)
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&diff, "diff", false, "name the inputs that differ from the last bake in the cache")
	return c
}

type explainJSON struct {
	Label   string         `json:"label"`
	Key     string         `json:"key"`
	Parts   []bake.KeyPart `json:"parts"`
	Tests   *testsJSON     `json:"tests,omitempty"`
	Status  string         `json:"status,omitempty"`
	LastKey string         `json:"last_key,omitempty"`
	Changes []string       `json:"changes,omitempty"`
}

// testsJSON is an image's tests as explain gives them: their digest, the
// parts it covers and, with --diff, whether the last bake passed them
// ("passed", or "changed" since it did).
type testsJSON struct {
	Digest string         `json:"digest"`
	Parts  []bake.KeyPart `json:"parts"`
	Status string         `json:"status,omitempty"`
}

// writeTests prints the digest of the image's tests and what it covers.
func writeTests(w io.Writer, key engine.Key) {
	if key.Tests == "" {
		return
	}
	fmt.Fprintf(w, "tests %s (not in the key: a change re-tests the image, never rebakes it)\n", key.Tests)
	writeParts(w, key.TestParts, "  ")
}

// writeParts prints a key's tree, one part a line.
func writeParts(w io.Writer, parts []bake.KeyPart, indent string) {
	for _, p := range parts {
		var fields []string
		for _, f := range []string{p.Note, p.Value, bake.ShortKey(p.Digest)} {
			if f != "" {
				fields = append(fields, f)
			}
		}
		fmt.Fprintf(w, "%s%s:%s\n", indent, p.Name, prefixed(strings.Join(fields, " ")))
		writeParts(w, p.Parts, indent+"  ")
	}
}

func prefixed(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
