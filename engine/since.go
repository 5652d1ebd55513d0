package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/cache"
	"github.com/imgraph/imgraph/label"
)

// Since is how an image's key compares with the last bake of its label
// a cache holds: what `plan` gives as the reason to bake, and what
// `explain --diff` prints.
type Since struct {
	Last *cache.Record // nil: the cache holds no bake of the label
	// Changes are the inputs that differ from the last bake's, in the
	// order of the key's tree: none when the key is the last bake's, or
	// when that bake recorded no inputs to compare (Comparable is false).
	Changes    []Change
	Comparable bool
}

// Unchanged reports whether the last bake had this very key.
func (s *Since) Unchanged(key Key) bool { return s.Last != nil && s.Last.Key == key.Hex }

// SinceLastBake compares key, the key of the image l, with the last bake
// of l in store.
func SinceLastBake(ctx context.Context, store Records, l label.Label, key Key) (*Since, error) {
	last, err := store.Latest(ctx, l.String())
	if err != nil {
		return nil, fmt.Errorf("reading the cache: %w", err)
	}
	s := &Since{Last: last}
	if last == nil || last.Key == key.Hex {
		s.Comparable = last != nil
		return s, nil
	}
	var old []bake.KeyPart
	if err := json.Unmarshal(last.Inputs, &old); err != nil || len(old) == 0 {
		return s, nil
	}
	s.Comparable = true
	s.Changes = Diff(old, key.Parts)
	return s, nil
}
