package query

// evalLet is let name = value in body: value is evaluated once, and body
// sees it as $name. An inner let of the same name hides the outer one.
func (ev *evaluator) evalLet(e *Let) (nodeSet, error) {
	value, err := ev.eval(e.Value)
	if err != nil {
		return nil, err
	}
	outer, shadowed := ev.vars[e.Name]
	ev.vars[e.Name] = value
	defer func() {
		if shadowed {
			ev.vars[e.Name] = outer
		} else {
			delete(ev.vars, e.Name)
		}
	}()
	return ev.eval(e.Body)
}

func (ev *evaluator) evalVar(v *Var) (nodeSet, error) {
	value, ok := ev.vars[v.Name]
	if !ok {
		return nil, errorf(v.Offset, "undefined variable $%s; bind it first: let %s = EXPR in ...", v.Name, v.Name)
	}
	return value, nil
}
