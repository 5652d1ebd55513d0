package query

func allpathsFunction() *function {
	return &function{
		name:     "allpaths",
		params:   []param{{"from", exprParam}, {"to", exprParam}},
		required: 2,
		eval:     evalAllpaths,
	}
}

// evalAllpaths is allpaths(from, to): every node on some dependency path
// from a node of from to a node of to, both ends included. Those are the
// nodes reachable backwards from to without leaving what from reaches:
// every step of such a path stays reachable from from.
func evalAllpaths(ev *evaluator, args []Expr) (nodeSet, error) {
	from, err := ev.eval(args[0])
	if err != nil {
		return nil, err
	}
	to, err := ev.eval(args[1])
	if err != nil {
		return nil, err
	}
	forward, err := ev.reach(from, ev.u.deps, -1, nil)
	if err != nil {
		return nil, err
	}
	return ev.reach(to, ev.u.rdeps, -1, forward)
}
