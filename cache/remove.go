package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Remove forgets key's record, once `imgraph gc` has removed every image
// it names, and the pointer of its label when it names key (so Latest
// does not name a record that is gone). A record that is not there is no
// error.
func (l *Local) Remove(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rec, _, _ := l.readRecord(key)
	if err := os.Remove(l.recordPath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cache: removing record %s: %w", key, err)
	}
	if rec == nil {
		return nil
	}
	path := l.labelPath(rec.Label)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil // none, or unreadable: Latest warns of it as before
	}
	var ptr labelPointer
	if json.Unmarshal(data, &ptr) != nil || ptr.Key != key {
		return nil
	}
	// A build that records the label again meanwhile replaces the file by
	// rename: removing the name may then remove its pointer, which costs
	// explain its "since the last bake" until the label is baked again.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cache: removing the label pointer of %s: %w", rec.Label, err)
	}
	return nil
}
