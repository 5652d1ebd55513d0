package cache

import (
	"context"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"
)

// Shared is a cache a team shares (the remote one): a Store whose Lock is
// a lease every process honours, and which keeps each bake's log.
type Shared interface {
	Store
	Locker
	PutLog(ctx context.Context, key string, r io.Reader) error
}

// Layered asks the local cache first and the shared one second; what the
// shared cache knows is copied into the local one, and every record is
// written to both.
type Layered struct {
	Local  *Local
	Shared Shared
	Warn   func(format string, args ...any)
}

// Get reads the keys the local cache lacks from the shared one. Whole
// records found there are copied into the local cache; summaries are not,
// for the local cache would then answer Latest without the Inputs (and the
// shared cache answers a summary as cheaply as a copy would).
func (c *Layered) Get(ctx context.Context, keys []string) (map[string]*Record, error) {
	out, err := c.Local.Get(ctx, keys)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, k := range keys {
		if out[k] == nil {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	remote, err := c.Shared.Get(ctx, missing)
	if err != nil {
		return nil, err
	}
	// Each local copy is an fsync'd atomic write: many at once, so a
	// runner's first no-op build does not wait on them one by one.
	var g errgroup.Group
	g.SetLimit(32)
	for k, rec := range remote {
		out[k] = rec
		if len(rec.Inputs) == 0 {
			continue
		}
		g.Go(func() error {
			// A failed local copy costs a remote read next time, nothing more.
			if err := c.Local.Put(ctx, rec); err != nil && c.Warn != nil {
				c.Warn("copying %s into the local cache: %v", k, err)
			}
			return nil
		})
	}
	g.Wait()
	return out, nil
}

// Put writes the record to the shared cache, then to the local one.
func (c *Layered) Put(ctx context.Context, rec *Record) error {
	if err := c.Shared.Put(ctx, rec); err != nil {
		return err
	}
	return c.Local.Put(ctx, rec)
}

// Latest is the newer of the two caches' last records for label.
func (c *Layered) Latest(ctx context.Context, label string) (*Record, error) {
	local, err := c.Local.Latest(ctx, label)
	if err != nil {
		return nil, err
	}
	remote, err := c.Shared.Latest(ctx, label)
	if err != nil {
		return nil, err
	}
	if remote == nil || local != nil && !remote.Created.After(local.Created) {
		return local, nil
	}
	return remote, nil
}

// Lock takes the shared lease: the shared cache is what other machines see.
func (c *Layered) Lock(ctx context.Context, key string) (func(), error) {
	return c.Shared.Lock(ctx, key)
}

// PutLog keeps a bake's log beside its record in the shared cache.
func (c *Layered) PutLog(ctx context.Context, key string, r io.Reader) error {
	if err := c.Shared.PutLog(ctx, key, r); err != nil {
		return fmt.Errorf("uploading the log: %w", err)
	}
	return nil
}
