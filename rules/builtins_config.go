package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.starlark.net/starlark"
)

// workspaceBuiltin is workspace(...). Its arguments were read before any
// Starlark ran (see parseWorkspace); here it only checks where it is called.
func workspaceBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	ts := stateOf(t)
	if ts.build == nil || ts.pkg != "" {
		return nil, l.at(callerPos(t), "workspace() may only be called in the IMAGES.star at the workspace root")
	}
	return starlark.None, nil
}

// selectBuiltin is select({"aws": …, "local": …, "default": …}): the value
// for the platform being loaded.
func selectBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var branches *starlark.Dict
	if err := unpack(b, args, kwargs, "branches", &branches); err != nil {
		return nil, err
	}
	var chosen, fallback starlark.Value
	for _, item := range branches.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("select: key %s is %s, want a platform name", item[0], item[0].Type())
		}
		switch key := string(k); {
		case key == l.platform:
			chosen = item[1]
		case key == "default":
			fallback = item[1]
		case !slices.Contains(l.platforms, key):
			return nil, fmt.Errorf("select: unknown key %q (the keys are %s)", key, quoteAnd(append(slices.Clone(l.platforms), "default")))
		}
	}
	if chosen == nil {
		chosen = fallback
	}
	if chosen == nil {
		return nil, fmt.Errorf("select: no branch for platform %q and no \"default\"", l.platform)
	}
	return chosen, nil
}

// varBuiltin is var("name", default = "…"): a value given with --var name=value.
func varBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var def optString
	if err := unpack(b, args, kwargs, "name", &name, "default?", &def); err != nil {
		return nil, err
	}
	if !envNameRE.MatchString(name) {
		return nil, fmt.Errorf("var: %q is not a valid variable name", name)
	}
	if v, ok := l.vars[name]; ok {
		return starlark.String(v), nil
	}
	if def.set {
		return starlark.String(def.s), nil
	}
	e := l.at(callerPos(t), "var(%q) is not set and has no default", name)
	e.Hint = fmt.Sprintf("pass --var %s=VALUE, or give it a default: var(%q, default = \"...\")", name, name)
	if len(l.vars) > 0 {
		var given []string
		for k := range l.vars {
			given = append(given, k)
		}
		sort.Strings(given)
		e.Hint += "; given: " + strings.Join(given, ", ")
	}
	return nil, e
}
