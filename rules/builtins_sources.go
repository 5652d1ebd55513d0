package rules

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// sourceValue is what ami(), ami_filter(), ssm_parameter() and rootfs() return.
type sourceValue struct {
	value
	src *Source
}

func newSource(s *Source) *sourceValue {
	return &sourceValue{value{"source"}, s}
}

func (s *sourceValue) String() string { return s.src.Describe() }

// Describe prints the source the way it was written; it is how the lock file
// names a floating source.
func (s *Source) Describe() string {
	switch s.Kind {
	case SourceAMI:
		return describe("ami", "id", strconv.Quote(s.ID))
	case SourceAMIFilter:
		var filters string
		if len(s.Filters) > 0 {
			keys := make([]string, 0, len(s.Filters))
			for k := range s.Filters {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var kv []string
			for _, k := range keys {
				kv = append(kv, strconv.Quote(k)+": "+quoteList(s.Filters[k]))
			}
			filters = "{" + strings.Join(kv, ", ") + "}"
		}
		return describe("ami_filter", "owners", quoteList(s.Owners), "name", strconv.Quote(s.NamePattern),
			"architecture", quoteIf(s.Architecture), "filters", filters)
	case SourceSSM:
		return describe("ssm_parameter", "name", strconv.Quote(s.Parameter))
	default:
		if s.File != nil {
			return describe("rootfs", "path", strconv.Quote(s.File.Label.String()))
		}
		return describe("rootfs", "url", strconv.Quote(s.URL), "sha256", strconv.Quote(s.SHA256))
	}
}

// DescribedKind is the kind of source a Describe()d source is (what comes
// before its '('): the lock file keeps sources by their description.
func DescribedKind(desc string) SourceKind {
	kind, _, _ := strings.Cut(desc, "(")
	return SourceKind(kind)
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func quoteIf(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Quote(s)
}

func (s *sourceValue) Unpack(v starlark.Value) error {
	sv, ok := v.(*sourceValue)
	if !ok {
		return fmt.Errorf("got %s, want a source: ami(), ami_filter(), ssm_parameter() or rootfs()", v.Type())
	}
	*s = *sv
	return nil
}

func amiBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var id string
	if err := unpack(b, args, kwargs, "id", &id); err != nil {
		return nil, err
	}
	if !amiRE.MatchString(id) {
		return nil, fmt.Errorf("ami: %q is not an image id such as \"ami-0123456789abcdef0\"", id)
	}
	s := &Source{Kind: SourceAMI, Pos: callerPos(t), ID: id}
	return newSource(s), nil
}

func amiFilterBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		owners  stringList
		name    string
		arch    optString
		filters stringListDict
	)
	if err := unpack(b, args, kwargs, "owners", &owners, "name", &name, "architecture?", &arch, "filters?", &filters); err != nil {
		return nil, err
	}
	if len(owners) == 0 {
		return nil, fmt.Errorf("ami_filter: owners is empty; name the accounts (or \"amazon\", \"self\") whose images may match")
	}
	if name == "" {
		return nil, fmt.Errorf("ami_filter: name is empty; give a name pattern such as \"al2023-ami-2023.*-x86_64\"")
	}
	switch arch.s {
	case "", "x86_64", "arm64", "i386", "x86_64_mac", "arm64_mac":
	default:
		return nil, fmt.Errorf("ami_filter: architecture %q is not one of x86_64, arm64, i386, x86_64_mac, arm64_mac", arch.s)
	}
	s := &Source{Kind: SourceAMIFilter, Pos: callerPos(t), Owners: owners, NamePattern: name, Architecture: arch.s, Filters: filters}
	return newSource(s), nil
}

func ssmParameterBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := unpack(b, args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(name, "/") {
		return nil, fmt.Errorf("ssm_parameter: %q is not a parameter path such as \"/aws/service/...\"", name)
	}
	s := &Source{Kind: SourceSSM, Pos: callerPos(t), Parameter: name}
	return newSource(s), nil
}

func rootfsBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p, url, sum optString
	if err := unpack(b, args, kwargs, "path?", &p, "url?", &url, "sha256?", &sum); err != nil {
		return nil, err
	}
	s := &Source{Kind: SourceRootfs, Pos: callerPos(t)}
	switch {
	case p.set == url.set:
		return nil, fmt.Errorf("rootfs: give exactly one of path and url")
	case p.set:
		if sum.set {
			return nil, fmt.Errorf("rootfs: sha256 goes with url; a path is hashed as it is")
		}
		f, err := l.resolveFile(t, p.s)
		if err != nil {
			return nil, fmt.Errorf("rootfs: %w", err)
		}
		s.File = f
	default:
		if !strings.HasPrefix(url.s, "https://") && !strings.HasPrefix(url.s, "http://") && !strings.HasPrefix(url.s, "file://") {
			return nil, fmt.Errorf("rootfs: url %q must be https://, http:// or file://", url.s)
		}
		if !sum.set {
			return nil, fmt.Errorf("rootfs: url %q has no sha256; a download must be pinned by its digest", url.s)
		}
		if !sha256RE.MatchString(sum.s) {
			return nil, fmt.Errorf("rootfs: sha256 %q is not 64 lowercase hex digits", sum.s)
		}
		s.URL, s.SHA256 = url.s, sum.s
	}
	return newSource(s), nil
}
