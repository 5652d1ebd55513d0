package label

import "strings"

// Nearest returns the candidate closest to want, for a "did you mean …?"
// hint. It counts edits as insertions, deletions, substitutions and swaps of
// two adjacent bytes (a transposition is the commonest typo), and accepts a
// candidate only within max(1, len(want)/3) edits: farther ones mislead more
// than they help. Ties go to the lexicographically smallest candidate, so
// the hint never depends on the order of candidates.
func Nearest(want string, candidates []string) (string, bool) {
	for _, c := range candidates {
		if strings.EqualFold(c, want) {
			return c, true // //BASE meant //base
		}
	}
	limit := max(1, len(want)/3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if abs(len(c)-len(want)) > limit {
			continue // cannot be within limit: cheap to skip among thousands
		}
		d := editDistance(want, c)
		if d < bestDist || d == bestDist && c < best {
			best, bestDist = c, d
		}
	}
	return best, bestDist <= limit
}

// editDistance is the optimal string alignment distance between a and b.
func editDistance(a, b string) int {
	// Three rows suffice: a transposition looks two rows back.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, prev2[j-2]+1)
			}
			cur[j] = d
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
