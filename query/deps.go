package query

func depsFunction() *function {
	return &function{
		name:     "deps",
		params:   []param{{"expr", exprParam}, {"depth", depthParam}},
		required: 1,
		eval:     evalDeps,
	}
}

// evalDeps is deps(x [, depth]): x and everything x depends on, directly or
// not; depth bounds the number of edges followed (0 is x alone).
func evalDeps(ev *evaluator, args []Expr) (nodeSet, error) {
	x, err := ev.eval(args[0])
	if err != nil {
		return nil, err
	}
	depth, err := depthArg(args, 1)
	if err != nil {
		return nil, err
	}
	return ev.reach(x, ev.u.deps, depth, nil)
}
