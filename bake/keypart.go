package bake

// KeyPart is one named input of an image's key. A leaf has a Value (what
// a person reads) and, for content, a Digest; an inner part groups its
// Parts. Note is shown but never hashed: it names where content came from
// (a file's label, an artifact's URL), so moving content does not rebake
// it. The engine hashes the tree; `imgraph explain` prints it and
// `--diff` compares two of them, part by part, by name.
type KeyPart struct {
	Name   string    `json:"name"`
	Value  string    `json:"value,omitempty"`
	Digest string    `json:"digest,omitempty"`
	Note   string    `json:"note,omitempty"`
	Parts  []KeyPart `json:"parts,omitempty"`
}

// ShortKey is a key's (or a digest's) first twelve hex digits, for people.
func ShortKey(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}
