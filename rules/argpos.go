package rules

import "go.starlark.net/syntax"

// argPos is where the keyword argument name is written in the call whose
// '(' is at call, so that an error about one argument points at it, not
// at the call. It parses the file again: errors are rare, and the
// position of every argument is not worth keeping for the files that
// have none.
func (l *Loader) argPos(call Pos, name string) (Pos, bool) {
	src, err := l.readSource(call.File)
	if err != nil {
		return Pos{}, false
	}
	f, err := fileOptions.Parse(call.File, src, 0)
	if err != nil {
		return Pos{}, false
	}
	var found Pos
	ok := false
	syntax.Walk(f, func(n syntax.Node) bool {
		ce, isCall := n.(*syntax.CallExpr)
		if ok || !isCall {
			return !ok
		}
		if lp := posOf(ce.Lparen); lp.Line != call.Line || lp.Col != call.Col {
			return true
		}
		for _, arg := range ce.Args {
			if bin, isKw := arg.(*syntax.BinaryExpr); isKw && bin.Op == syntax.EQ {
				if id, isIdent := bin.X.(*syntax.Ident); isIdent && id.Name == name {
					found, ok = posOf(id.NamePos), true
				}
			}
		}
		return false
	})
	return found, ok
}
