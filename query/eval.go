package query

import (
	"context"
	"fmt"
)

// Eval evaluates e over u. cwd is the package path of the current directory
// ("" at the workspace root), against which relative patterns resolve. The
// result is sorted by label. Mistakes in e are *Error; a cancelled ctx
// returns ctx.Err().
func Eval(ctx context.Context, u *Universe, e Expr, cwd string) ([]*Node, error) {
	if u == nil {
		u = NewUniverse(nil)
	}
	ev := &evaluator{ctx: ctx, u: u, cwd: cwd, vars: map[string]nodeSet{}}
	s, err := ev.eval(e)
	if err != nil {
		return nil, err
	}
	return u.nodesOf(s), nil
}

// evaluator holds what one evaluation needs; it lives as long as Eval.
type evaluator struct {
	ctx  context.Context
	u    *Universe
	cwd  string
	vars map[string]nodeSet // the let bindings in scope
}

func (ev *evaluator) eval(e Expr) (nodeSet, error) {
	if err := ev.ctx.Err(); err != nil {
		return nil, err
	}
	switch e := e.(type) {
	case *Word:
		return ev.evalWord(e)
	case *Var:
		return ev.evalVar(e)
	case *Let:
		return ev.evalLet(e)
	case *Set:
		return ev.evalSet(e)
	case *Binary:
		return ev.evalBinary(e)
	case *Call:
		f, ok := lookupFunction(e.Func)
		if !ok {
			return nil, errorf(e.Offset, "unknown function %s%s", e.Func, suggestFunction(e.Func))
		}
		if len(e.Args) < f.required || len(e.Args) > len(f.params) {
			return nil, errorf(e.Offset, "wrong number of arguments to %s; usage: %s", f.name, f.usage())
		}
		return f.eval(ev, e.Args)
	case nil:
		return nil, errorf(-1, "no expression to evaluate")
	}
	return nil, fmt.Errorf("query: unknown expression type %T", e)
}

func (ev *evaluator) evalBinary(e *Binary) (nodeSet, error) {
	left, err := ev.eval(e.Left)
	if err != nil {
		return nil, err
	}
	right, err := ev.eval(e.Right)
	if err != nil {
		return nil, err
	}
	switch e.Op {
	case Union:
		return left.union(right), nil
	case Except:
		return left.except(right), nil
	case Intersect:
		return left.intersect(right), nil
	}
	return nil, fmt.Errorf("query: unknown operator %d", e.Op)
}

// ctxCheckEvery is how many nodes a traversal visits between looks at ctx.
const ctxCheckEvery = 4096

// reach returns start and every node reachable from it along edges, at most
// depth edges away (depth < 0: no bound), never leaving within (nil: the
// whole universe). It is the breadth-first search behind deps, rdeps and
// allpaths: each node and edge is visited once.
func (ev *evaluator) reach(start nodeSet, edges [][]int32, depth int, within nodeSet) (nodeSet, error) {
	seen := ev.u.empty()
	var frontier []int32
	for i := range start.members() {
		if within == nil || within.has(i) {
			seen.add(i)
			frontier = append(frontier, i)
		}
	}
	visited := 0
	for d := 0; len(frontier) > 0 && (depth < 0 || d < depth); d++ {
		var next []int32
		for _, i := range frontier {
			if visited++; visited%ctxCheckEvery == 0 {
				if err := ev.ctx.Err(); err != nil {
					return nil, err
				}
			}
			for _, j := range edges[i] {
				if !seen.has(j) && (within == nil || within.has(j)) {
					seen.add(j)
					next = append(next, j)
				}
			}
		}
		frontier = next
	}
	return seen, nil
}

// keep returns the nodes of x that match: what kind, filter and attr share.
func (ev *evaluator) keep(x nodeSet, match func(*Node) bool) nodeSet {
	out := ev.u.empty()
	for i := range x.members() {
		if match(&ev.u.nodes[i]) {
			out.add(i)
		}
	}
	return out
}
