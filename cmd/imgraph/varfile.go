package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/imgraph/imgraph/rules"
)

// readVarFile reads the var() values of --var-file: a JSON object of
// strings, or a Starlark file of name = "value" assignments (it may
// compute them; it can call nothing but Starlark's own functions).
func readVarFile(e *env, path string) (map[string]string, error) {
	vars := map[string]string{}
	if path == "" {
		return vars, nil
	}
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(e.dir, abs)
	}
	data, err := rules.ReadFile(abs)
	if err != nil {
		return nil, usagef("--var-file %s: %v", path, err)
	}
	if strings.HasSuffix(path, ".json") || bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, usagef("--var-file %s: not a JSON object of strings: %v", path, err)
		}
		for _, k := range slices.Sorted(maps.Keys(raw)) {
			s, ok := raw[k].(string)
			if !ok {
				return nil, usagef("--var-file %s: %q is %v, not a string: var() values are strings", path, k, raw[k])
			}
			vars[k] = s
		}
		return vars, nil
	}
	th := &starlark.Thread{Name: "var-file"}
	th.SetMaxExecutionSteps(1_000_000)
	globals, err := starlark.ExecFileOptions(&syntax.FileOptions{}, th, path, data, nil)
	if err != nil {
		return nil, usagef("--var-file: %v", err)
	}
	for _, k := range slices.Sorted(maps.Keys(globals)) {
		if strings.HasPrefix(k, "_") {
			continue // a helper of the file's own
		}
		s, ok := globals[k].(starlark.String)
		if !ok {
			return nil, usagef("--var-file %s: %s is a %s, not a string: var() values are strings", path, k, globals[k].Type())
		}
		vars[k] = string(s)
	}
	return vars, nil
}
