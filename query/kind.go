package query

func kindFunction() *function {
	return &function{
		name:     "kind",
		params:   []param{{"regex", regexParam}, {"expr", exprParam}},
		required: 2,
		eval:     evalKind,
	}
}

// evalKind is kind(regex, x): the nodes of x whose kind ("image rule",
// "source file") the regex matches anywhere, unanchored as in Bazel.
func evalKind(ev *evaluator, args []Expr) (nodeSet, error) {
	re, err := regexArg(args, 0)
	if err != nil {
		return nil, err
	}
	x, err := ev.eval(args[1])
	if err != nil {
		return nil, err
	}
	return ev.keep(x, func(n *Node) bool { return re.MatchString(n.Kind) }), nil
}
