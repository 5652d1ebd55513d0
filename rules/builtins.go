package rules

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/imgraph/imgraph/label"
)

// builtinFunc is a builtin with what it needs of the loader at hand.
type builtinFunc func(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// builtins is the predeclared environment of every IMAGES.star and .star file.
func (l *Loader) builtins() starlark.StringDict {
	fns := map[string]builtinFunc{
		"workspace":     workspaceBuiltin,
		"select":        selectBuiltin,
		"var":           varBuiltin,
		"image":         imageBuiltin,
		"shell":         shellBuiltin,
		"copy":          copyBuiltin,
		"artifact":      artifactBuiltin,
		"spot":          spotBuiltin,
		"volume":        volumeBuiltin,
		"ami":           amiBuiltin,
		"ami_filter":    amiFilterBuiltin,
		"ssm_parameter": ssmParameterBuiltin,
		"rootfs":        rootfsBuiltin,
	}
	env := starlark.StringDict{}
	for name, fn := range fns {
		env[name] = starlark.NewBuiltin(name, l.wrap(fn))
	}
	return env
}

// wrap is the one place every builtin's errors pass through: an error that
// already knows its place keeps it; any other gets the caller's position and
// source line.
func (l *Loader) wrap(fn builtinFunc) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		v, err := fn(l, t, b, args, kwargs)
		if err == nil {
			return v, nil
		}
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		// A misspelt keyword is pointed at where it is written.
		site := callSiteOf(t)
		const unexpected = "unexpected keyword argument "
		if msg := err.Error(); strings.Contains(msg, unexpected) {
			name, _, _ := strings.Cut(strings.TrimPrefix(msg[strings.Index(msg, unexpected)+len(unexpected):], `"`), `"`)
			return nil, l.atArg(site, name, "%s", err)
		}
		return nil, l.atSite(site, "%s", err)
	}
}

// callSite is where the running builtin was called: the position the
// user wrote in the IMAGES.star being loaded (inside a macro, the macro's
// call there), the '(' of the builtin's own call, and, inside macros, the
// calls within them, innermost first.
type callSite struct {
	pos    Pos
	call   Pos
	macros []Pos
}

func callSiteOf(t *starlark.Thread) callSite {
	ts := stateOf(t)
	// Frame 0 is the builtin itself; walk out from its caller.
	site := callSite{call: posOf(t.CallFrame(1).Pos)}
	site.pos = site.call
	for i := 1; i < t.CallStackDepth(); i++ {
		f := posOf(t.CallFrame(i).Pos)
		if f.File == ts.file {
			site.pos = f
			break
		}
		site.macros = append(site.macros, ts.loader.callee(f))
	}
	site.pos = ts.loader.callee(site.pos)
	return site
}

// callerPos is the position of the call to the running builtin. Inside a
// macro it is the macro's call in the IMAGES.star being loaded, the line
// the user wrote.
func callerPos(t *starlark.Thread) Pos { return callSiteOf(t).pos }

// atSite makes an Error at the call site, naming the macros it went
// through.
func (l *Loader) atSite(site callSite, format string, args ...any) *Error {
	e := l.at(site.pos, format, args...)
	for _, m := range site.macros {
		e.Via = append(e.Via, Call{Note: "in a macro, at", Pos: m, Line: l.line(m.File, m.Line)})
	}
	return e
}

// atArg makes an Error about the keyword argument name: at the argument
// when the call is the user's own, at the call site (with the macros'
// lines) when a macro made it.
func (l *Loader) atArg(site callSite, name string, format string, args ...any) *Error {
	if len(site.macros) == 0 {
		if pos, ok := l.argPos(site.call, name); ok {
			return l.at(pos, format, args...)
		}
	}
	return l.atSite(site, format, args...)
}

// callee moves a call's position from its '(' back to the start of the
// name called, which is where a reader looks.
func (l *Loader) callee(pos Pos) Pos {
	line := l.lineBytes(pos.File, pos.Line)
	i := int(pos.Col) - 1
	if i <= 0 || i >= len(line) {
		return pos
	}
	if line[i] != '(' {
		return pos
	}
	j := i
	for j > 0 && isIdentByte(line[j-1]) {
		j--
	}
	pos.Col = int32(j + 1)
	return pos
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// unpack is starlark.UnpackArgs, plus "did you mean" for a misspelt keyword.
func unpack(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, pairs ...any) error {
	err := starlark.UnpackArgs(b.Name(), args, kwargs, pairs...)
	if err == nil {
		return nil
	}
	msg := err.Error()
	const unexpected = "unexpected keyword argument "
	if i := strings.Index(msg, unexpected); i >= 0 && !strings.Contains(msg, "did you mean") {
		got := strings.Trim(msg[i+len(unexpected):], `"`)
		var names []string
		for j := 0; j < len(pairs); j += 2 {
			names = append(names, strings.TrimSuffix(pairs[j].(string), "?"))
		}
		if near, ok := label.Nearest(got, names); ok {
			return fmt.Errorf("%s (did you mean %q?)", msg, near)
		}
		sort.Strings(names)
		return fmt.Errorf("%s (%s takes %s)", msg, b.Name(), strings.Join(names, ", "))
	}
	return err
}

// optString is a string parameter that may also be None (say, from a
// select() branch that does not apply).
type optString struct {
	s   string
	set bool
}

func (o *optString) Unpack(v starlark.Value) error {
	switch v := v.(type) {
	case starlark.NoneType:
		return nil
	case starlark.String:
		o.s, o.set = string(v), true
		return nil
	}
	return fmt.Errorf("got %s, want string", v.Type())
}

// optInt is an int parameter that may be None.
type optInt struct {
	n   int
	set bool
}

func (o *optInt) Unpack(v starlark.Value) error {
	if v == starlark.None {
		return nil
	}
	i, ok := v.(starlark.Int)
	if !ok {
		return fmt.Errorf("got %s, want int", v.Type())
	}
	n, ok := i.Int64()
	if !ok || n < -1<<31 || n > 1<<31-1 {
		return fmt.Errorf("%s is out of range", i)
	}
	o.n, o.set = int(n), true
	return nil
}

// optBool is a bool parameter that may be None.
type optBool struct {
	b   bool
	set bool
}

func (o *optBool) Unpack(v starlark.Value) error {
	if v == starlark.None {
		return nil
	}
	b, ok := v.(starlark.Bool)
	if !ok {
		return fmt.Errorf("got %s, want bool", v.Type())
	}
	o.b, o.set = bool(b), true
	return nil
}

// stringList is a list (or tuple) of strings.
type stringList []string

func (l *stringList) Unpack(v starlark.Value) error {
	if v == starlark.None {
		return nil
	}
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return fmt.Errorf("got %s, want list of strings", v.Type())
	}
	if _, isStr := v.(starlark.String); isStr {
		return fmt.Errorf("got string, want list of strings")
	}
	out := make([]string, seq.Len())
	for i := range out {
		s, ok := seq.Index(i).(starlark.String)
		if !ok {
			return fmt.Errorf("element %d is %s, want string", i, seq.Index(i).Type())
		}
		out[i] = string(s)
	}
	*l = out
	return nil
}

// stringDict is a dict of strings to strings.
type stringDict map[string]string

func (d *stringDict) Unpack(v starlark.Value) error {
	if v == starlark.None {
		return nil
	}
	dict, ok := v.(*starlark.Dict)
	if !ok {
		return fmt.Errorf("got %s, want dict of strings", v.Type())
	}
	out := make(map[string]string, dict.Len())
	for _, item := range dict.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return fmt.Errorf("key %s is %s, want string", item[0], item[0].Type())
		}
		val, ok := item[1].(starlark.String)
		if !ok {
			return fmt.Errorf("value of %q is %s, want string", string(k), item[1].Type())
		}
		out[string(k)] = string(val)
	}
	*d = out
	return nil
}

// stringListDict is a dict of strings to lists of strings.
type stringListDict map[string][]string

func (d *stringListDict) Unpack(v starlark.Value) error {
	if v == starlark.None {
		return nil
	}
	dict, ok := v.(*starlark.Dict)
	if !ok {
		return fmt.Errorf("got %s, want dict of string lists", v.Type())
	}
	out := make(map[string][]string, dict.Len())
	for _, item := range dict.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return fmt.Errorf("key %s is %s, want string", item[0], item[0].Type())
		}
		var l stringList
		if err := l.Unpack(item[1]); err != nil {
			return fmt.Errorf("value of %q: %w", string(k), err)
		}
		out[string(k)] = l
	}
	*d = out
	return nil
}

var (
	envNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	octalRE    = regexp.MustCompile(`^[0-7]?[0-7]{3}$`)
	sha256RE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	amiRE      = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)
	artifactRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// value is the Starlark face of the values our builtins return; each kind
// prints itself (String) only when asked, which is rarely.
type value struct {
	typ string
}

func (v value) Type() string          { return v.typ }
func (v value) Freeze()               {}
func (v value) Truth() starlark.Bool  { return true }
func (v value) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: %s", v.typ) }

// describe prints a call the way it was written, for String().
func describe(fn string, kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			parts = append(parts, fmt.Sprintf("%s = %s", kv[i], kv[i+1]))
		}
	}
	return fn + "(" + strings.Join(parts, ", ") + ")"
}
