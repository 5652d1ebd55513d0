package query

import (
	"errors"
	"fmt"
	"strings"

	"github.com/imgraph/imgraph/label"
)

// evalWord evaluates a target pattern: the targets of the universe it
// selects. A pattern that cannot select anything because what it names
// does not exist is an error, so a typo is never read as an empty answer.
func (ev *evaluator) evalWord(w *Word) (nodeSet, error) {
	p, err := label.ParsePattern(w.Text, ev.cwd)
	if err != nil {
		var le *label.Error
		if errors.As(err, &le) {
			return nil, errorf(w.Offset, "invalid target pattern %q: %s", w.Text, le.Msg)
		}
		return nil, errorf(w.Offset, "invalid target pattern %q: %v", w.Text, err)
	}
	if p.Negative {
		return nil, errorf(w.Offset, "a negative pattern has no meaning in a query; subtract it instead: //... - %s",
			strings.TrimPrefix(p.String(), "-"))
	}
	out := ev.u.empty()
	if l, ok := p.Single(); ok {
		i, ok := ev.u.index[l]
		if !ok && isPath(w.Text) {
			i, ok = ev.fileInEnclosingPackage(p.Pkg)
		}
		if !ok {
			return nil, errorf(w.Offset, "%s", ev.noSuchTarget(l))
		}
		out.add(i)
		return out, nil
	}
	pkgs := []string{p.Pkg}
	if p.Recursive {
		pkgs = ev.u.packagesBeneath(p.Pkg)
		if len(pkgs) == 0 && p.Pkg != "" {
			return nil, errorf(w.Offset, "no targets found beneath '%s'%s", p.Pkg, ev.suggestPackage(p))
		}
	} else if _, ok := ev.u.pkgNodes[p.Pkg]; !ok {
		return nil, errorf(w.Offset, "no such package '%s'%s", p.Pkg, ev.suggestPackage(p))
	}
	for _, pkg := range pkgs {
		r := ev.u.pkgNodes[pkg]
		for i := r[0]; i < r[1]; i++ {
			if p.Matches(ev.u.nodes[i].Label, ev.u.nodes[i].isFile()) {
				out.add(i)
			}
		}
	}
	return out, nil
}

// isPath reports whether a pattern is written as a relative path, without
// // or ':', so that, as in Bazel, it may name a file by its path.
func isPath(pattern string) bool {
	return !strings.HasPrefix(pattern, "//") && !strings.Contains(pattern, ":")
}

// fileInEnclosingPackage finds the target that path (apps/api/files/x)
// names in the nearest package enclosing it (//apps/api:files/x).
func (ev *evaluator) fileInEnclosingPackage(path string) (int32, bool) {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] != '/' {
			continue
		}
		if _, ok := ev.u.pkgNodes[path[:i]]; ok {
			j, ok := ev.u.index[label.Label{Pkg: path[:i], Name: path[i+1:]}]
			return j, ok
		}
	}
	if _, ok := ev.u.pkgNodes[""]; ok {
		j, ok := ev.u.index[label.Label{Name: path}]
		return j, ok
	}
	return 0, false
}

// noSuchTarget explains a missing target: which package was searched, and
// the nearest name there (or anywhere, when the package itself is missing).
func (ev *evaluator) noSuchTarget(l label.Label) string {
	if r, ok := ev.u.pkgNodes[l.Pkg]; ok {
		var names []string
		for i := r[0]; i < r[1]; i++ {
			names = append(names, ev.u.nodes[i].Label.Name)
		}
		msg := fmt.Sprintf("no such target '%s': target '%s' not declared in package '%s'", l, l.Name, l.Pkg)
		if near, ok := label.Nearest(l.Name, names); ok {
			msg += fmt.Sprintf("; did you mean %s?", label.Label{Pkg: l.Pkg, Name: near})
		}
		return msg
	}
	all := make([]string, len(ev.u.nodes))
	for i := range ev.u.nodes {
		all[i] = ev.u.nodes[i].Label.String()
	}
	msg := fmt.Sprintf("no such target '%s': there is no package '%s'", l, l.Pkg)
	if near, ok := label.Nearest(l.String(), all); ok {
		msg += fmt.Sprintf("; did you mean %s?", near)
	}
	return msg
}

// suggestPackage returns "; did you mean P?" with p moved to the nearest package.
func (ev *evaluator) suggestPackage(p label.Pattern) string {
	near, ok := label.Nearest(p.Pkg, ev.u.pkgs)
	if !ok {
		return ""
	}
	p.Pkg = near
	return fmt.Sprintf("; did you mean %s?", p)
}
