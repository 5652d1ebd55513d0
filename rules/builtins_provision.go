package rules

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/imgraph/imgraph/label"
)

// provisionerValue is what shell() and copy() return.
type provisionerValue struct {
	value
	p *Provisioner
}

func (v *provisionerValue) String() string {
	p := v.p
	switch {
	case p.Kind == ProvisionCopy:
		return describe("copy", "src", strconv.Quote(p.Src.Label.String()), "dest", strconv.Quote(p.Dest))
	case p.Script != nil:
		return describe("shell", "script", strconv.Quote(p.Script.Label.String()))
	}
	return describe("shell", "inline", quoteList(p.Inline))
}

func (v *artifactValue) String() string { return describe("artifact", "url", strconv.Quote(v.a.URL)) }

// provisionList is image(provision = [...]).
type provisionList []Provisioner

func (pl *provisionList) Unpack(v starlark.Value) error {
	var list stringOrValues
	if err := list.Unpack(v); err != nil {
		return err
	}
	out := make([]Provisioner, len(list))
	for i, item := range list {
		pv, ok := item.(*provisionerValue)
		if !ok {
			return fmt.Errorf("element %d is %s, want shell(...) or copy(...)", i, item.Type())
		}
		out[i] = *pv.p
	}
	*pl = out
	return nil
}

// stringOrValues is a list or tuple of values.
type stringOrValues []starlark.Value

func (s *stringOrValues) Unpack(v starlark.Value) error {
	if v == starlark.None {
		return nil
	}
	seq, ok := v.(starlark.Indexable)
	if _, isStr := v.(starlark.String); !ok || isStr {
		return fmt.Errorf("got %s, want list", v.Type())
	}
	out := make([]starlark.Value, seq.Len())
	for i := range out {
		out[i] = seq.Index(i)
	}
	*s = out
	return nil
}

func shellBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		script    optString
		inline    stringList
		env       stringDict
		secretEnv stringList
	)
	if err := unpack(b, args, kwargs, "script?", &script, "inline?", &inline, "env?", &env, "secret_env?", &secretEnv); err != nil {
		return nil, err
	}
	p := &Provisioner{Kind: ProvisionShell, Pos: callerPos(t), Inline: inline, Env: env}
	switch {
	case script.set && inline != nil:
		return nil, fmt.Errorf("shell: give script or inline, not both")
	case !script.set && inline == nil:
		return nil, fmt.Errorf("shell: give script = \"file.sh\" or inline = [\"command\", ...]")
	case script.set:
		f, err := l.resolveFile(t, script.s)
		if err != nil {
			return nil, fmt.Errorf("shell: script: %w", err)
		}
		p.Script = f
	}
	for k := range env {
		if !envNameRE.MatchString(k) {
			return nil, fmt.Errorf("shell: env: %q is not a valid variable name", k)
		}
		if strings.HasPrefix(k, "IMGRAPH_") {
			return nil, fmt.Errorf("shell: env: %q: names starting with IMGRAPH_ are imgraph's own", k)
		}
	}
	seen := map[string]bool{}
	for _, k := range secretEnv {
		if !envNameRE.MatchString(k) {
			return nil, fmt.Errorf("shell: secret_env: %q is not a valid variable name", k)
		}
		if _, ok := env[k]; ok {
			return nil, fmt.Errorf("shell: %q is in both env and secret_env", k)
		}
		if seen[k] {
			return nil, fmt.Errorf("shell: secret_env names %q twice", k)
		}
		seen[k] = true
	}
	p.SecretEnv = append([]string(nil), secretEnv...)
	sort.Strings(p.SecretEnv)
	return &provisionerValue{value{"provisioner"}, p}, nil
}

func copyBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var src, dest string
	var mode optString
	if err := unpack(b, args, kwargs, "src", &src, "dest", &dest, "mode?", &mode); err != nil {
		return nil, err
	}
	if !path.IsAbs(dest) {
		return nil, fmt.Errorf("copy: dest %q must be an absolute path in the image", dest)
	}
	if mode.set && !octalRE.MatchString(mode.s) {
		return nil, fmt.Errorf("copy: mode %q is not an octal mode such as \"0644\", or \"4755\" with the setuid, setgid or sticky bits", mode.s)
	}
	f, err := l.resolveFile(t, src)
	if err != nil {
		return nil, fmt.Errorf("copy: src: %w", err)
	}
	m := mode.s
	if m != "" && len(m) == 3 {
		m = "0" + m
	}
	p := &Provisioner{Kind: ProvisionCopy, Pos: callerPos(t), Src: f, Dest: path.Clean(dest), Mode: m}
	return &provisionerValue{value{"provisioner"}, p}, nil
}

// artifactValue is what artifact() returns.
type artifactValue struct {
	value
	a *Artifact
}

// artifactDict is image(artifacts = {"name": artifact(...)}).
type artifactDict []Artifact

func (d *artifactDict) Unpack(v starlark.Value) error {
	if v == starlark.None {
		return nil
	}
	dict, ok := v.(*starlark.Dict)
	if !ok {
		return fmt.Errorf("got %s, want dict of name to artifact(...)", v.Type())
	}
	var out []Artifact
	for _, item := range dict.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return fmt.Errorf("key %s is %s, want string", item[0], item[0].Type())
		}
		if !artifactRE.MatchString(string(k)) {
			return fmt.Errorf("artifact name %q must be lowercase letters, digits and _ (it becomes $IMGRAPH_ARTIFACT_%s)", string(k), strings.ToUpper(string(k)))
		}
		av, ok := item[1].(*artifactValue)
		if !ok {
			return fmt.Errorf("value of %q is %s, want artifact(url = ..., sha256 = ...)", string(k), item[1].Type())
		}
		a := *av.a
		a.Name = string(k)
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	*d = out
	return nil
}

func artifactBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var url string
	var sum optString
	if err := unpack(b, args, kwargs, "url", &url, "sha256?", &sum); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") &&
		!strings.HasPrefix(url, "s3://") && !strings.HasPrefix(url, "file://") {
		return nil, fmt.Errorf("artifact: url %q must be https://, http://, s3:// or file://", url)
	}
	if !sum.set {
		e := l.at(callerPos(t), "artifact: %q is unpinned: sha256 is required", url)
		e.Hint = "an artifact that can change under the same key would bake stale images; pin it with sha256 = \"<sha256sum of the file>\""
		return nil, e
	}
	if !sha256RE.MatchString(sum.s) {
		return nil, fmt.Errorf("artifact: sha256 %q is not 64 lowercase hex digits", sum.s)
	}
	a := &Artifact{URL: url, SHA256: sum.s, Pos: callerPos(t)}
	return &artifactValue{value{"artifact"}, a}, nil
}

// resolveFile turns a script, file or rootfs path as written into a File:
// a path relative to the package being loaded, or a label //pkg:path.
func (l *Loader) resolveFile(t *starlark.Thread, s string) (*File, error) {
	ts := stateOf(t)
	var lbl label.Label
	if strings.HasPrefix(s, "//") || strings.HasPrefix(s, ":") {
		var err error
		lbl, err = label.ParseRelative(s, ts.pkg)
		if err != nil {
			return nil, err
		}
		if ok, err := l.HasPackage(lbl.Pkg); err != nil {
			return nil, err
		} else if !ok {
			return nil, fmt.Errorf("%s: %s", s, l.noPackage(lbl.Pkg))
		}
	} else {
		if s == "" {
			return nil, fmt.Errorf("empty path")
		}
		if path.IsAbs(s) {
			return nil, fmt.Errorf("%q: paths are relative to the package; name files outside it by label, //pkg:path", s)
		}
		clean := path.Clean(s)
		if clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("%q leaves the package; name files of another package by label, //pkg:path", s)
		}
		if msg := label.CheckName(clean); msg != "" {
			return nil, fmt.Errorf("%q: %s", s, msg)
		}
		lbl = label.Label{Pkg: ts.pkg, Name: clean}
	}
	// A file belongs to the nearest package above it, as in Bazel.
	dir := lbl.Name
	for {
		i := strings.LastIndexByte(dir, '/')
		if i < 0 {
			break
		}
		dir = dir[:i]
		sub := path.Join(lbl.Pkg, dir)
		if ok, err := l.HasPackage(sub); err != nil {
			return nil, err
		} else if ok {
			return nil, fmt.Errorf("%q is in package //%s; name it //%s:%s", s, sub, sub, strings.TrimPrefix(lbl.Name, dir+"/"))
		}
	}
	return &File{Label: lbl, Path: l.abs(path.Join(lbl.Pkg, lbl.Name))}, nil
}
