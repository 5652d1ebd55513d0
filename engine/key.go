package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/imgraph/imgraph/bake"
)

// KeySchema is the version of the key's encoding. Bumping it rebakes
// everything, so it changes only when what a key covers changes.
const KeySchema = "1"

// Key is an image's key and the inputs it was computed from: a tree for
// explaining, never read for data.
type Key struct {
	Hex   string
	Parts []bake.KeyPart
	// Tests is the digest of the image's tests ("" when it has none),
	// computed from TestParts; it is not part of Hex (see testsKey).
	Tests     string
	TestParts []bake.KeyPart
}

// Short is the key's first twelve hex digits, for people.
func (k Key) Short() string { return bake.ShortKey(k.Hex) }

// newKey hashes parts in a canonical encoding: every string is length
// prefixed and every list counted, so no two trees encode alike.
func newKey(parts []bake.KeyPart) Key {
	buf := make([]byte, 0, 4<<10)
	buf = appendParts(appendString(buf, "imgraph-key"), parts)
	sum := sha256.Sum256(buf)
	return Key{Hex: hex.EncodeToString(sum[:]), Parts: parts}
}

// appendParts appends the parts' canonical encoding: every count and
// length as 8 bytes, big-endian, before what it counts.
func appendParts(buf []byte, parts []bake.KeyPart) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(parts)))
	for _, p := range parts {
		buf = appendString(buf, p.Name)
		buf = appendString(buf, p.Value)
		buf = appendString(buf, p.Digest)
		buf = appendParts(buf, p.Parts)
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(s)))
	return append(buf, s...)
}

// Change is one input that differs between two keys.
type Change struct {
	Path    string // the part's names from the root, joined by ": "
	Subject string // what the part is about when that did not change: a file's label
	Was     string // "" when the part is new
	Now     string // "" when the part is gone
}

// String reads like "provision: [0] shell: script //base:harden.sh: 1a2b… → 3c4d…".
func (c Change) String() string {
	path := c.Path
	if c.Subject != "" {
		path += " " + c.Subject
	}
	switch {
	case c.Was == "":
		return fmt.Sprintf("%s: added (%s)", path, c.Now)
	case c.Now == "":
		return fmt.Sprintf("%s: removed (was %s)", path, c.Was)
	}
	return fmt.Sprintf("%s: %s → %s", path, c.Was, c.Now)
}

// change describes a part present on both sides, saying only what differs.
func change(path []string, o, n bake.KeyPart) Change {
	c := Change{Path: strings.Join(path, ": ")}
	if o.Note == n.Note {
		c.Subject = n.Note
		o.Note, n.Note = "", ""
	}
	if o.Value == n.Value && o.Digest != n.Digest {
		o.Value, n.Value = "", ""
	}
	c.Was, c.Now = describe(o), describe(n)
	return c
}

// Diff lists the leaf inputs that differ from old to new, in the order of
// the new tree; parts are matched by name at each level.
func Diff(old, new []bake.KeyPart) []Change {
	var out []Change
	diffParts(nil, old, new, &out)
	return out
}

func diffParts(path []string, old, new []bake.KeyPart, out *[]Change) {
	oldBy := make(map[string]bake.KeyPart, len(old))
	for _, p := range old {
		oldBy[p.Name] = p
	}
	seen := map[string]bool{}
	for _, n := range new {
		seen[n.Name] = true
		p := append(path[:len(path):len(path)], n.Name)
		o, ok := oldBy[n.Name]
		switch {
		case !ok:
			*out = append(*out, Change{Path: strings.Join(p, ": "), Now: describe(n)})
		case len(n.Parts) > 0 || len(o.Parts) > 0:
			if o.Value != n.Value || o.Digest != n.Digest {
				*out = append(*out, change(p, o, n))
			}
			diffParts(p, o.Parts, n.Parts, out)
		case o.Value != n.Value || o.Digest != n.Digest:
			*out = append(*out, change(p, o, n))
		}
	}
	for _, o := range old {
		if !seen[o.Name] {
			p := append(path[:len(path):len(path)], o.Name)
			*out = append(*out, Change{Path: strings.Join(p, ": "), Was: describe(o)})
		}
	}
}

// describe is a part's note, value and digest, as a change prints them.
func describe(p bake.KeyPart) string {
	var s string
	switch {
	case p.Digest != "" && p.Value != "":
		s = p.Value + " " + bake.ShortKey(p.Digest)
	case p.Digest != "":
		s = bake.ShortKey(p.Digest)
	default:
		s = p.Value
	}
	switch {
	case p.Note != "" && s != "":
		return p.Note + " " + s
	case p.Note != "":
		return p.Note
	case s == "":
		return fmt.Sprintf("%d parts", len(p.Parts))
	}
	return s
}
