package query

import (
	"iter"
	"math/bits"
)

// nodeSet is a set of a universe's nodes, one bit per node index. Set
// operators and membership tests then cost n/64 words, not map look-ups.
type nodeSet []uint64

func newNodeSet(n int) nodeSet { return make(nodeSet, (n+63)/64) }

func (s nodeSet) add(i int32)      { s[i/64] |= 1 << (uint(i) % 64) }
func (s nodeSet) has(i int32) bool { return s[i/64]&(1<<(uint(i)%64)) != 0 }

// addAll adds the members of o to s, in place.
func (s nodeSet) addAll(o nodeSet) {
	for i := range s {
		s[i] |= o[i]
	}
}

func (s nodeSet) len() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

func (s nodeSet) union(o nodeSet) nodeSet {
	out := make(nodeSet, len(s))
	for i := range s {
		out[i] = s[i] | o[i]
	}
	return out
}

func (s nodeSet) intersect(o nodeSet) nodeSet {
	out := make(nodeSet, len(s))
	for i := range s {
		out[i] = s[i] & o[i]
	}
	return out
}

func (s nodeSet) except(o nodeSet) nodeSet {
	out := make(nodeSet, len(s))
	for i := range s {
		out[i] = s[i] &^ o[i]
	}
	return out
}

// members yields the indexes in s in ascending order, which is label order.
func (s nodeSet) members() iter.Seq[int32] {
	return func(yield func(int32) bool) {
		for wi, w := range s {
			for w != 0 {
				b := bits.TrailingZeros64(w)
				if !yield(int32(wi*64 + b)) {
					return
				}
				w &= w - 1
			}
		}
	}
}
