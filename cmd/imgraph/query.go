package main

import (
	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/query"
)

func queryCommand(e *env, opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "query EXPR",
		Short: "Answer questions about the image graph",
		Long: `Query evaluates an expression over every image and file of the workspace,
with Bazel's query language:

  deps(x[, depth])  rdeps(universe, x[, depth])  allpaths(a, b)  somepath(a, b)
  kind(regex, x)    attr(name, regex, x)         filter(regex, x)
  let v = e in e2   set(a b c)   x + y   x - y   x ^ y

Files are targets too: rdeps(//..., //base:harden.sh) lists the images that
use that script. --output is label (default), label_kind, graph or json.`,
		Example: `  imgraph query 'rdeps(//..., //base:al2023)'
  imgraph query 'deps(//apps/api)' --output graph | dot -Tsvg > api.svg`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if opts.output == "" {
				opts.output = "label"
			}
			expr, err := query.Parse(args[0])
			if err != nil {
				return err
			}
			s, err := openSession(e, opts)
			if err != nil {
				return err
			}
			all := []label.Pattern{{Recursive: true, Selects: label.Rules}}
			a, err := s.loadGraph(c.Context(), all)
			if err != nil {
				return err
			}
			u := query.NewUniverse(a.QueryNodes())
			nodes, err := query.Eval(c.Context(), u, expr, s.cwd)
			if err != nil {
				return err
			}
			return query.Write(e.stdout, opts.output, u, nodes)
		},
	}
}
