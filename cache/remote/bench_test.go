package remote

import "testing"

// BenchmarkNoopLookup1000 is the lookup of a no-op build of 1,000 images
// over the remote cache: every key recorded, so Get reads the index and
// every record. Against the emulators its time is mostly s3rver's.
func BenchmarkNoopLookup1000(b *testing.B) {
	s, calls, keys := benchCache(b)
	for b.Loop() {
		got, err := s.Get(b.Context(), keys)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != len(keys) {
			b.Fatalf("Get found %d of %d records", len(got), len(keys))
		}
	}
	b.ReportMetric(float64(calls.count(""))/float64(b.N), "dynamodb-calls/op")
	b.ReportMetric(float64(calls.count("s3"))/float64(b.N), "s3-calls/op")
}

// BenchmarkIndexLookup1000 is the DynamoDB half of the same lookup alone.
func BenchmarkIndexLookup1000(b *testing.B) {
	s, calls, keys := benchCache(b)
	for b.Loop() {
		index, err := s.lookup(b.Context(), keys)
		if err != nil {
			b.Fatal(err)
		}
		if len(index) != len(keys) {
			b.Fatalf("lookup found %d of %d keys", len(index), len(keys))
		}
	}
	b.ReportMetric(float64(calls.count(""))/float64(b.N), "dynamodb-calls/op")
}

func benchCache(b *testing.B) (*Store, *calls, []string) {
	loc := newCache(b, "")
	s, calls, _ := openCounted(b, loc, "run-a")
	keys := putRecords(b, s, 1000)
	calls.reset()
	return s, calls, keys
}
