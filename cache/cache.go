// Package cache remembers baked images by key, so a build can skip the images
// whose key is already baked. A Store holds one Record per key and a pointer
// to the latest record of each label; a Locker lets one process at a time
// bake a key.
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Record is what the cache remembers of one baked image, by key.
type Record struct {
	Key        string            `json:"key"`   // hex sha256
	Label      string            `json:"label"` // //pkg:name
	Platform   string            `json:"platform"`
	Images     map[string]string `json:"images"` // region -> image id
	Tags       map[string]string `json:"tags,omitempty"`
	ShareWith  []string          `json:"share_with,omitempty"`
	PublishSSM string            `json:"publish_ssm,omitempty"`
	// LaunchTemplates and DeprecateAfter (a Go duration) are the rest of
	// the distribution the image was given.
	LaunchTemplates []string        `json:"launch_templates,omitempty"`
	DeprecateAfter  string          `json:"deprecate_after,omitempty"`
	Inputs          json.RawMessage `json:"inputs,omitempty"` // the key's named parts; opaque to the cache
	RunID           string          `json:"run_id,omitempty"`
	Created         time.Time       `json:"created"`
	// Tested is the digest of the tests the image last passed (the
	// engine's Key.Tests); "" when none ran on it.
	Tested string `json:"tested,omitempty"`
	// Unpublished: the record was written (a bake, a copy, a test
	// recorded at once) and the image's distribution has not been
	// applied since; the next build applies it again.
	Unpublished bool `json:"unpublished,omitempty"`
}

// Summary is the record without its Inputs: all a build needs of a key it
// finds baked, for the Inputs are the key's own parts, which the build has
// just computed. A store keeps summaries where its look-ups are cheap, so a
// build that changes nothing never reads a whole record.
func (r *Record) Summary() *Record {
	s := *r
	s.Inputs = nil
	return &s
}

// Store is where records live. Every method is safe for concurrent use by
// goroutines and by several processes.
type Store interface {
	// Get returns the records held for keys; a key with no (or an
	// unreadable) record is absent from the map. A record may be a
	// Summary: whoever writes it back fills its Inputs in again.
	Get(ctx context.Context, keys []string) (map[string]*Record, error)
	// Put writes rec (atomically) and makes it the latest record for its label.
	Put(ctx context.Context, rec *Record) error
	// Latest returns the last record put for label, whole, or nil if there
	// is none.
	Latest(ctx context.Context, label string) (*Record, error)
}

// Locker serialises work on one key across processes.
type Locker interface {
	// Lock blocks until this process holds key's lock or ctx ends; unlock
	// releases it.
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// CheckPut is what every store checks of a record before it writes it.
func CheckPut(rec *Record) error {
	if rec == nil {
		return errors.New("cache: put of a nil record")
	}
	if err := CheckKey(rec.Key); err != nil {
		return err
	}
	if rec.Label == "" {
		return fmt.Errorf("cache: record %s has no label", rec.Key)
	}
	return nil
}

// Stats is what `imgraph cache stat` shows.
type Stats struct {
	Records  int    `json:"records"`
	Labels   int    `json:"labels"`
	Bytes    int64  `json:"bytes"`
	Location string `json:"location"`
}

// ErrInvalidKey is wrapped by every error about a malformed key.
var ErrInvalidKey = errors.New("invalid key")

// CheckKey accepts exactly 64 lowercase hex digits. Keys name files and
// objects, so this is also what keeps a key inside a cache's directory or
// prefix.
func CheckKey(key string) error {
	if len(key) != 64 {
		return fmt.Errorf("cache: %w %q: want 64 lowercase hex digits, have %d characters", ErrInvalidKey, key, len(key))
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("cache: %w %q: want 64 lowercase hex digits, have %q at %d", ErrInvalidKey, key, c, i)
		}
	}
	return nil
}

// DirError is a cache directory imgraph cannot use: bad input (exit 2),
// since the user named it (or the environment did).
type DirError struct {
	Dir string
	Err error
}

func (e *DirError) Error() string {
	return fmt.Sprintf("cache %s cannot be used: %v\n  hint: name a directory imgraph can write with --cache DIR (or IMGRAPH_CACHE_DIR)", e.Dir, e.Err)
}

func (e *DirError) Unwrap() error { return e.Err }

// BadInput marks the error as the user's to fix (exit code 2).
func (e *DirError) BadInput() bool { return true }
