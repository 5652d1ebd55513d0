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
	out := ev.u.empty()
	for i := range x.members() {
		if re.MatchString(ev.u.nodes[i].Label.String()) {
			out.add(i)
		}
	}
	return out, nil
}
