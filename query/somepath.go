package query

func somepathFunction() *function {
	return &function{
		name:     "somepath",
		params:   []param{{"from", exprParam}, {"to", exprParam}},
		required: 2,
		eval:     evalSomepath,
	}
}

// evalSomepath is somepath(from, to): the nodes of one dependency path from
// a node of from to a node of to, or nothing when there is none. It is the
// shortest such path; a breadth-first search in label order picks the same
// one every time.
func evalSomepath(ev *evaluator, args []Expr) (nodeSet, error) {
	from, err := ev.eval(args[0])
	if err != nil {
		return nil, err
	}
	to, err := ev.eval(args[1])
	if err != nil {
		return nil, err
	}
	out := ev.u.empty()
	// parent[j] is the node j was first reached from: -1 unreached, j itself for a start.
	parent := make([]int32, len(ev.u.nodes))
	for i := range parent {
		parent[i] = -1
	}
	var frontier []int32
	for i := range from.members() {
		if to.has(i) {
			out.add(i) // a path of one node
			return out, nil
		}
		parent[i] = i
		frontier = append(frontier, i)
	}
	visited := 0
	for len(frontier) > 0 {
		var next []int32
		for _, i := range frontier {
			if visited++; visited%ctxCheckEvery == 0 {
				if err := ev.ctx.Err(); err != nil {
					return nil, err
				}
			}
			for _, j := range ev.u.deps[i] {
				if parent[j] >= 0 {
					continue
				}
				parent[j] = i
				if to.has(j) {
					for k := j; ; k = parent[k] {
						out.add(k)
						if parent[k] == k {
							return out, nil
						}
					}
				}
				next = append(next, j)
			}
		}
		frontier = next
	}
	return out, nil
}
