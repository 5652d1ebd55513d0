package ec2sim

import (
	"encoding/base64"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// params reads a Query API request's form at a prefix. EC2 writes a list
// as Name.1, Name.2, … and a structure's fields as Name.Field, so a list of
// structures is Name.1.Field, Name.2.Field, ….
type params struct {
	form   url.Values
	prefix string
}

func (p params) get(name string) string { return p.form.Get(p.prefix + name) }

func (p params) has(name string) bool {
	_, ok := p.form[p.prefix+name]
	return ok
}

// sub reads the structure name.
func (p params) sub(name string) params { return params{p.form, p.prefix + name + "."} }

// indices are the N of every name.N key (and name.N.field key), in order:
// EC2 reads lists by index, whatever the order of the form.
func (p params) indices(name string) []int {
	prefix := p.prefix + name + "."
	seen := map[int]bool{}
	for k := range p.form {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil && n > 0 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// list reads the list of strings name.1, name.2, ….
func (p params) list(name string) []string {
	var out []string
	for _, n := range p.indices(name) {
		if v, ok := p.form[p.prefix+name+"."+strconv.Itoa(n)]; ok && len(v) > 0 {
			out = append(out, v[0])
		}
	}
	return out
}

// members reads the list of structures name.1.*, name.2.*, ….
func (p params) members(name string) []params {
	var out []params
	for _, n := range p.indices(name) {
		out = append(out, p.sub(name+"."+strconv.Itoa(n)))
	}
	return out
}

// boolean reads an optional boolean.
func (p params) boolean(name string) (value, set bool, err *apiError) {
	if !p.has(name) {
		return false, false, nil
	}
	switch v := p.get(name); strings.ToLower(v) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	default:
		return false, true, invalidValue(name, v)
	}
}

// integer reads an optional integer.
func (p params) integer(name string) (value int, set bool, err *apiError) {
	if !p.has(name) {
		return 0, false, nil
	}
	v := p.get(name)
	n, perr := strconv.Atoi(v)
	if perr != nil {
		return 0, true, invalidValue(name, v)
	}
	return n, true, nil
}

// filter is one Filter.N of a Describe call: it matches a resource with
// any of its values (each may hold * and ? wildcards).
type filter struct {
	name   string
	values []string
}

func (p params) filters() ([]filter, *apiError) {
	var out []filter
	for _, m := range p.members("Filter") {
		name := m.get("Name")
		if name == "" {
			return nil, newError("InvalidParameterValue", "The filter 'null' is invalid")
		}
		out = append(out, filter{name: name, values: m.list("Value")})
	}
	return out, nil
}

// fieldFunc gives a resource's values for a filter name; known is false
// for a filter the resource's Describe call does not have.
type fieldFunc func(name string) (values []string, known bool)

// untaggedFilters are the request's filters, of a resource that carries
// no tags: a tag filter is one EC2 does not know there.
func (p params) untaggedFilters() ([]filter, *apiError) {
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if isTagFilter(f.name) {
			return nil, newError("InvalidParameterValue", "The filter '%s' is invalid", f.name)
		}
	}
	return fs, nil
}

// checkFilters rejects filters the resource kind does not have, before any
// resource is looked at (EC2 rejects them even when nothing would match).
func checkFilters(fs []filter, field fieldFunc) *apiError {
	for _, f := range fs {
		if isTagFilter(f.name) {
			continue
		}
		if _, known := field(f.name); !known {
			return newError("InvalidParameterValue", "The filter '%s' is invalid", f.name)
		}
	}
	return nil
}

func isTagFilter(name string) bool {
	return strings.HasPrefix(name, "tag:") || name == "tag-key" || name == "tag-value"
}

// matches reports whether a resource with tags and field passes every
// filter (filters are ANDed, a filter's values ORed).
func matches(fs []filter, tags map[string]string, field fieldFunc) bool {
	for _, f := range fs {
		var have []string
		switch {
		case strings.HasPrefix(f.name, "tag:"):
			if v, ok := tags[strings.TrimPrefix(f.name, "tag:")]; ok {
				have = []string{v}
			}
		case f.name == "tag-key":
			have = slices.Sorted(maps.Keys(tags))
		case f.name == "tag-value":
			for _, k := range slices.Sorted(maps.Keys(tags)) {
				have = append(have, tags[k])
			}
		default:
			have, _ = field(f.name)
		}
		if !anyMatch(f.values, have) {
			return false
		}
	}
	return true
}

func anyMatch(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if wildcard(p, v) {
				return true
			}
		}
	}
	return false
}

// wildcard matches s against an EC2 filter value: * is any run of
// characters, ? any one, and a backslash escapes either.
func wildcard(pattern, s string) bool {
	// Iterative, remembering the last *: linear for the patterns people
	// write, and never exponential.
	var px, sx, starP, starS = 0, 0, -1, 0
	for sx < len(s) {
		if px < len(pattern) {
			c := pattern[px]
			switch {
			case c == '*':
				starP, starS = px, sx
				px++
				continue
			case c == '?':
				_, n := utf8.DecodeRuneInString(s[sx:])
				px++
				sx += n
				continue
			case c == '\\' && px+1 < len(pattern):
				if pattern[px+1] == s[sx] {
					px += 2
					sx++
					continue
				}
			case c == s[sx]:
				px++
				sx++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		px = starP + 1
		starS++
		sx = starS
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// paginate cuts a Describe call's results by MaxResults (1 to 1000) and
// NextToken.
func paginate[T any](p params, xs []T) (page []T, next string, err *apiError) {
	return paginateUpTo(p, xs, 1, 1000)
}

// paginateUpTo is paginate for a call whose MaxResults lies from lo to hi.
func paginateUpTo[T any](p params, xs []T, lo, hi int) (page []T, next string, err *apiError) {
	start := 0
	if tok := p.get("NextToken"); tok != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(tok)
		n, aerr := strconv.Atoi(string(raw))
		if derr != nil || aerr != nil || n < 0 || n > len(xs) {
			return nil, "", newError("InvalidParameterValue", "Invalid value '%s' for NextToken", tok)
		}
		start = n
	}
	max, set, err := p.integer("MaxResults")
	if err != nil {
		return nil, "", err
	}
	if !set {
		return xs[start:], "", nil
	}
	if max < lo || max > hi {
		return nil, "", newError("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", max, lo, hi)
	}
	end := min(start+max, len(xs))
	if end < len(xs) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return xs[start:end], next, nil
}

// tagSpecs reads TagSpecification.N: the tags for each resource type the
// call creates. Only the types in allowed may be named.
func (p params) tagSpecs(allowed ...string) (map[string]map[string]string, *apiError) {
	out := map[string]map[string]string{}
	for _, spec := range p.members("TagSpecification") {
		rt := spec.get("ResourceType")
		if rt == "" {
			return nil, missing("TagSpecification.ResourceType")
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == rt
		}
		if !ok {
			return nil, newError("InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation.", rt)
		}
		tags, err := spec.tags("Tag")
		if err != nil {
			return nil, err
		}
		if out[rt] == nil {
			out[rt] = map[string]string{}
		}
		for k, v := range tags {
			out[rt][k] = v
		}
	}
	return out, nil
}

// tags reads name.N.Key and name.N.Value, checking them as CreateTags does.
func (p params) tags(name string) (map[string]string, *apiError) {
	tags := map[string]string{}
	for _, m := range p.members(name) {
		k := m.get("Key")
		if err := checkTag(k, m.get("Value")); err != nil {
			return nil, err
		}
		tags[k] = m.get("Value")
	}
	return tags, nil
}

// maxTags is how many tags a resource may carry.
const maxTags = 50

func checkTag(k, v string) *apiError {
	switch {
	case k == "":
		return newError("InvalidParameterValue", "Tag key must not be empty")
	case utf8.RuneCountInString(k) > 128:
		return newError("InvalidParameterValue", "Tag key exceeds the maximum length of 128 characters")
	case utf8.RuneCountInString(v) > 256:
		return newError("InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")
	case strings.HasPrefix(strings.ToLower(k), "aws:"):
		return newError("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
	}
	return nil
}

// addTags merges tags into a resource's, within EC2's limit.
func addTags(dst map[string]string, tags map[string]string) *apiError {
	n := len(dst)
	for k := range tags {
		if _, ok := dst[k]; !ok {
			n++
		}
	}
	if n > maxTags {
		return newError("TagLimitExceeded", "The maximum number of tags allowed for a resource is %d", maxTags)
	}
	for k, v := range tags {
		dst[k] = v
	}
	return nil
}

func cloneTags(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		out[k] = v
	}
	return out
}
