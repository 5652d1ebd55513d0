package remote

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/imgraph/imgraph/cache"
)

// releaseTimeout bounds the call that gives a lease back. It runs after
// the build's context may have ended, so it has its own.
const releaseTimeout = 30 * time.Second

// hold is a key this store has locked.
type hold struct {
	free        chan struct{} // closed once unlocked, for goroutines of this process waiting on the key
	stopRenewal func()        // stops renewing the lease and waits for the renewal to end; nil without a lease
}

// claimable is when a run may take a key's lease: nobody has the key, or
// it is not done and its lease has ended (or is ours already, from an
// earlier attempt of this run).
const claimable = "attribute_not_exists(#key) OR attribute_not_exists(#status) OR " +
	"(#status <> :done AND (attribute_not_exists(#expires) OR #expires < :now OR #owner = :me))"

// Lock takes key's lease: the key's item, claimed with a conditional
// write and renewed every lease/3 while held. When another run holds a
// live lease, Lock waits, polling the item, until that run records the
// key (then Lock returns and the caller finds the record and reuses it),
// releases it, or lets the lease expire (then Lock takes it over).
//
// Goroutines of one process share a run id, so they take turns in the
// process before the lease is asked for. unlock releases the lease unless
// the key was recorded meanwhile, so a failed bake lets another run
// bake the key at once.
//
// Expiry is judged by the waiting run's clock against the holder's: clocks
// must agree to well within the lease.
func (s *Store) Lock(ctx context.Context, key string) (unlock func(), err error) {
	if err := cache.CheckKey(key); err != nil {
		return nil, err
	}
	h, err := s.holdInProcess(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := s.claim(ctx, key, h); err != nil {
		s.unhold(key, h)
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if h.stopRenewal != nil {
				h.stopRenewal()
				s.release(key)
			}
			s.unhold(key, h)
		})
	}, nil
}

// holdInProcess waits until no other goroutine of this store holds key.
func (s *Store) holdInProcess(ctx context.Context, key string) (*hold, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		other := s.held[key]
		if other == nil {
			h := &hold{free: make(chan struct{})}
			s.held[key] = h
			s.mu.Unlock()
			return h, nil
		}
		s.mu.Unlock()
		select {
		case <-other.free:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (s *Store) unhold(key string, h *hold) {
	s.mu.Lock()
	if s.held[key] == h {
		delete(s.held, key)
	}
	s.mu.Unlock()
	close(h.free)
}

// pollInterval is how often a waiting Lock looks at the item: a tenth of
// the lease, so a takeover comes soon after expiry, but within bounds that
// keep a crowd of waiters from costing much.
func (s *Store) pollInterval() time.Duration {
	return min(max(s.loc.Lease/10, 50*time.Millisecond), 3*time.Second)
}

// claim loops until this run holds key's lease (h.stopRenewal is then
// set), or the key is done, or ctx ends.
func (s *Store) claim(ctx context.Context, key string, h *hold) error {
	waiting := false
	for quick := 0; ; {
		now := s.now()
		err := s.putLease(ctx, key, now, claimable, map[string]ddbtypes.AttributeValue{
			":done": str(statusDone), ":now": num(ms(now)), ":me": str(s.runID),
		})
		if err == nil {
			h.stopRenewal = s.renew(ctx, key)
			return nil
		}
		if !isConditionFailed(err) {
			return s.indexError(ctx, "taking the lease on "+key+" in", err)
		}
		item, err := s.leaseItem(ctx, key)
		if err != nil {
			return err
		}
		var wait time.Duration
		switch {
		case item == nil:
			// Released since our write: claim again.
		case stringAttr(item, attrStatus) == statusDone:
			return s.claimDone(ctx, key, h, stringAttr(item, attrLocation))
		default:
			expires := time.UnixMilli(numberAttr(item, attrExpires))
			if !s.now().Before(expires) {
				break // expired since our write: claim again
			}
			if !waiting {
				waiting = true
				if s.lockWaiting != nil {
					s.lockWaiting(key)
				}
			}
			wait = min(s.pollInterval(), expires.Sub(s.now())+time.Millisecond)
		}
		// Claims that fail for a reason that is gone when looked at should
		// not spin: after a few, wait as if the key were held.
		if wait == 0 {
			if quick++; quick > 3 {
				wait = s.pollInterval()
			}
		} else {
			quick = 0
		}
		if wait > 0 {
			if err := sleep(ctx, wait); err != nil {
				return err
			}
		}
	}
}

// claimDone deals with a key found done. Usually its record is there and
// Lock returns without a lease for the caller to read and reuse it; when
// the record cannot be used, the index is wrong, and the key is claimed
// from the done state as if it had never been baked.
func (s *Store) claimDone(ctx context.Context, key string, h *hold, location string) error {
	rec, err := s.readRecord(ctx, key, location)
	if err != nil {
		return err
	}
	if rec != nil {
		return nil
	}
	now := s.now()
	cond := "#status = :done AND attribute_not_exists(#location)"
	values := map[string]ddbtypes.AttributeValue{":done": str(statusDone)}
	if location != "" {
		cond = "#status = :done AND #location = :location"
		values[":location"] = str(location)
	}
	err = s.putLease(ctx, key, now, cond, values)
	switch {
	case err == nil:
		h.stopRenewal = s.renew(ctx, key)
		return nil
	case isConditionFailed(err):
		// Another run got there first; wait for it like for any lease.
		return s.claim(ctx, key, h)
	}
	return s.indexError(ctx, "taking the lease on "+key+" in", err)
}

// putLease writes key's item as leased to this run until now+lease, if
// cond holds.
func (s *Store) putLease(ctx context.Context, key string, now time.Time, cond string, values map[string]ddbtypes.AttributeValue) error {
	attrs := names(attrKey, attrStatus, attrExpires, attrOwner, attrLocation)
	for name := range attrs {
		if !strings.Contains(cond, name) {
			delete(attrs, name)
		}
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.loc.Table),
		Item: map[string]ddbtypes.AttributeValue{
			attrKey:     str(key),
			attrStatus:  str(statusBaking),
			attrOwner:   str(s.runID),
			attrExpires: num(ms(now.Add(s.loc.Lease))),
			attrUpdated: num(ms(now)),
		},
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  attrs,
		ExpressionAttributeValues: values,
	})
	return err
}

// leaseItem reads key's item, or nil if there is none.
func (s *Store) leaseItem(ctx context.Context, key string) (map[string]ddbtypes.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.loc.Table),
		Key:            keyOf(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, s.indexError(ctx, "reading the lease on "+key+" in", err)
	}
	return out.Item, nil
}

// renew extends the lease every lease/3 until the returned function is
// called, which waits for the renewal to stop. Renewal outlives ctx's
// cancellation: the bake's cleanup still runs under the lease, and unlock
// ends it.
func (s *Store) renew(ctx context.Context, key string) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		every := s.loc.Lease / 3
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !s.renewOnce(ctx, key, every) {
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// renewOnce extends the lease and reports whether it is still ours.
func (s *Store) renewOnce(ctx context.Context, key string, timeout time.Duration) bool {
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	now := s.now()
	_, err := s.db.UpdateItem(callCtx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.loc.Table),
		Key:                      keyOf(key),
		UpdateExpression:         aws.String("SET #expires = :expires, #updated = :now"),
		ConditionExpression:      aws.String("#owner = :me AND #status = :baking"),
		ExpressionAttributeNames: names(attrExpires, attrUpdated, attrOwner, attrStatus),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":expires": num(ms(now.Add(s.loc.Lease))),
			":now":     num(ms(now)),
			":me":      str(s.runID),
			":baking":  str(statusBaking),
		},
	})
	switch {
	case err == nil:
		if s.leaseRenewed != nil {
			s.leaseRenewed(key)
		}
		return true
	case ctx.Err() != nil:
		return false
	case isConditionFailed(err):
		// Done (recorded, perhaps by a run that found the image by its
		// tag) is the usual reason and needs no word.
		if item, err := s.leaseItem(ctx, key); err == nil && stringAttr(item, attrStatus) != statusDone {
			s.warnf("cache: lost the lease on %s to run %q: this run and that one may both be baking it", key, stringAttr(item, attrOwner))
		}
		return false
	}
	// The next renewal may get through before the lease ends.
	s.warnf("cache: renewing the lease on %s: %v", key, err)
	return true
}

// release gives up key's lease, unless the key is done or the lease has
// passed to another run.
func (s *Store) release(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(s.loc.Table),
		Key:                      keyOf(key),
		ConditionExpression:      aws.String("#owner = :me AND #status = :baking"),
		ExpressionAttributeNames: names(attrOwner, attrStatus),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":me":     str(s.runID),
			":baking": str(statusBaking),
		},
	})
	if err != nil && !isConditionFailed(err) {
		s.warnf("cache: releasing the lease on %s: %v (another run can take it over when it expires, within %v)", key, err, s.loc.Lease)
	}
}
