package query

func filterFunction() *function {
	return &function{
		name:     "filter",
		params:   []param{{"regex", regexParam}, {"expr", exprParam}},
		required: 2,
		eval:     evalFilter,
	}
}

// evalFilter is filter(regex, x): the nodes of x whose label, in its
// canonical form //pkg:name, the regex matches anywhere.
func evalFilter(ev *evaluator, args []Expr) (nodeSet, error) {
	re, err := regexArg(args, 0)
	if err != nil {
		return nil, err
	}
	x, err := ev.eval(args[1])
	if err != nil {
		return nil, err
	}
	return ev.keep(x, func(n *Node) bool { return re.MatchString(n.Label.String()) }), nil
}
