package query

func rdepsFunction() *function {
	return &function{
		name:     "rdeps",
		params:   []param{{"universe", exprParam}, {"expr", exprParam}, {"depth", depthParam}},
		required: 2,
		eval:     evalRdeps,
	}
}

// evalRdeps is rdeps(universe, x [, depth]): x and what depends on x,
// within the transitive closure of universe (as in Bazel, not universe
// alone, so rdeps(//apps/..., //base:al2023) holds the base image too).
func evalRdeps(ev *evaluator, args []Expr) (nodeSet, error) {
	universe, err := ev.eval(args[0])
	if err != nil {
		return nil, err
	}
	x, err := ev.eval(args[1])
	if err != nil {
		return nil, err
	}
	depth, err := depthArg(args, 2)
	if err != nil {
		return nil, err
	}
	closure, err := ev.reach(universe, ev.u.deps, -1, nil)
	if err != nil {
		return nil, err
	}
	return ev.reach(x, ev.u.rdeps, depth, closure)
}
