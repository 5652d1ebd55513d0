package query

// evalSet is set(a b c): the union of what each pattern selects. It saves
// writing a + b + c, and takes a list of labels pasted from another tool.
func (ev *evaluator) evalSet(s *Set) (nodeSet, error) {
	out := ev.u.empty()
	for _, w := range s.Words {
		targets, err := ev.evalWord(w)
		if err != nil {
			return nil, err
		}
		out.addAll(targets)
	}
	return out, nil
}
