package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// KeySchema is the version of the key's encoding. Bumping it rebakes
// everything, so it changes only when what a key covers changes.
const KeySchema = "1"

// Part is one named input of a key. A leaf has a Value (what a person
// reads) and, for content, a Digest; an inner part groups its Parts. The
// tree is what `imgraph explain` prints and what `--diff` compares.
// Note is shown but never hashed: it names where content came from (a
// file's label, an artifact's URL), so moving content does not rebake it.
type Part struct {
	Name   string `json:"name"`
	Value  string `json:"value,omitempty"`
	Digest string `json:"digest,omitempty"`
	Note   string `json:"note,omitempty"`
	Parts  []Part `json:"parts,omitempty"`
}

// Key is an image's key and the inputs it was computed from.
type Key struct {
	Hex   string
	Parts []Part
}

// part returns the top-level part named name.
func (k Key) part(name string) Part {
	for _, p := range k.Parts {
		if p.Name == name {
			return p
		}
	}
	return Part{}
}

// Short is the key's first twelve hex digits, for people.
func (k Key) Short() string { return short(k.Hex) }

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// newKey hashes parts in a canonical encoding: every string is length
// prefixed and every list counted, so no two trees encode alike.
func newKey(parts []Part) Key {
	buf := make([]byte, 0, 4<<10)
	buf = appendParts(appendString(buf, "imgraph-key"), parts)
	sum := sha256.Sum256(buf)
	return Key{Hex: hex.EncodeToString(sum[:]), Parts: parts}
}

// appendParts appends the parts' canonical encoding: every count and
// length as 8 bytes, big-endian, before what it counts.
func appendParts(buf []byte, parts []Part) []byte {
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
func change(path []string, o, n Part) Change {
	c := Change{Path: strings.Join(path, ": ")}
	if o.Note == n.Note {
		c.Subject = n.Note
		o.Note, n.Note = "", ""
	}
	if o.Value == n.Value && o.Digest != n.Digest {
		o.Value, n.Value = "", ""
	}
	c.Was, c.Now = o.describe(), n.describe()
	return c
}

// Diff lists the leaf inputs that differ from old to new, in the order of
// the new tree; parts are matched by name at each level.
func Diff(old, new []Part) []Change {
	var out []Change
	diffParts(nil, old, new, &out)
	return out
}

func diffParts(path []string, old, new []Part, out *[]Change) {
	oldBy := make(map[string]Part, len(old))
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
			*out = append(*out, Change{Path: strings.Join(p, ": "), Now: n.describe()})
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
			*out = append(*out, Change{Path: strings.Join(p, ": "), Was: o.describe()})
		}
	}
}

// describe is a part's note, value and digest, as a change prints them.
func (p Part) describe() string {
	var s string
	switch {
	case p.Digest != "" && p.Value != "":
		s = p.Value + " " + short(p.Digest)
	case p.Digest != "":
		s = short(p.Digest)
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
