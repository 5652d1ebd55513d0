package query

import (
	"fmt"
	"maps"
	"slices"

	"github.com/imgraph/imgraph/label"
)

func attrFunction() *function {
	return &function{
		name:     "attr",
		params:   []param{{"name", wordParam}, {"regex", regexParam}, {"expr", exprParam}},
		required: 3,
		eval:     evalAttr,
	}
}

// evalAttr is attr(name, regex, x): the nodes of x that have attribute name
// with a value the regex matches anywhere. Values are matched as rendered,
// lists as "[a, b]", as in Bazel; a node without the attribute never matches.
func evalAttr(ev *evaluator, args []Expr) (nodeSet, error) {
	name, ok := args[0].(*Word)
	if !ok {
		return nil, errorf(args[0].Pos(), "the name argument of attr must be a word")
	}
	if !ev.u.attrs[name.Text] && len(ev.u.attrs) > 0 {
		// A misspelt attribute would match nothing, in silence.
		e := errorf(name.Offset, "no target has an attribute %q", name.Text)
		if near, ok := label.Nearest(name.Text, slices.Sorted(maps.Keys(ev.u.attrs))); ok {
			e.Msg += fmt.Sprintf("; did you mean %s?", near)
		}
		return nil, e
	}
	re, err := regexArg(args, 1)
	if err != nil {
		return nil, err
	}
	x, err := ev.eval(args[2])
	if err != nil {
		return nil, err
	}
	return ev.keep(x, func(n *Node) bool {
		v, ok := n.Attrs[name.Text]
		return ok && re.MatchString(v)
	}), nil
}
