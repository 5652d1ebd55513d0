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
	out := ev.u.empty()
	for i := range x.members() {
		if re.MatchString(ev.u.nodes[i].Kind) {
			out.add(i)
		}
	}
	return out, nil
}
