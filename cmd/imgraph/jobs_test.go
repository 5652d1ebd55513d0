package main

import (
	"runtime"
	"strings"
	"testing"
)

// --jobs defaults to 16 on aws, whose bakes wait on EC2, and to the CPU
// count on local; a --jobs given wins on both, and --help says so.
func TestJobsDefault(t *testing.T) {
	aws, err := platformNamed("aws")
	if err != nil {
		t.Fatal(err)
	}
	local, err := platformNamed("local")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    platform
		f    buildFlags
		want int
	}{
		{aws, buildFlags{}, 16},
		{local, buildFlags{}, runtime.NumCPU()},
		{aws, buildFlags{jobs: 3, jobsSet: true}, 3},
		{local, buildFlags{jobs: 5, jobsSet: true}, 5},
	} {
		if got := jobsFor(tc.p, &tc.f); got != tc.want {
			t.Errorf("jobsFor(%s, %+v) = %d, want %d", tc.p.Name(), tc.f, got, tc.want)
		}
	}
	ws := &testWorkspace{root: t.TempDir(), cache: t.TempDir()}
	r := ws.imgraph(t, nil, "build", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "16 on aws") || !strings.Contains(r.stdout, "CPU count on local") {
		t.Errorf("build --help does not give --jobs' defaults: %v", r)
	}
}
