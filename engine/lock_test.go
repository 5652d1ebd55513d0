package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/aws"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// fakeResolver resolves floating sources from a table, as EC2 would.
type fakeResolver struct {
	mu    sync.Mutex
	ids   map[string]string // source description -> image id
	calls []string          // "region source", in call order
}

func (r *fakeResolver) Resolve(_ context.Context, region string, src *rules.Source) (bake.Resolved, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, region+" "+src.Describe())
	id, ok := r.ids[src.Describe()]
	if !ok {
		return bake.Resolved{}, fmt.Errorf("no image matches %s", src.Describe())
	}
	return bake.Resolved{ID: id, Name: "name of " + id, Created: "2026-11-01T00:00:00Z"}, nil
}

const (
	al2023Source = `ami_filter(owners = ["amazon"], name = "al2023-ami-2023.*-x86_64", architecture = "x86_64")`
	ubuntuSource = `ssm_parameter("/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id")`
)

// floating is an aws workspace whose roots float: //base:al2023 and
// //apps:worker share one ami_filter, //base:ubuntu reads an SSM parameter,
// //base:pinned does not float.
func floating() map[string]string {
	return map[string]string{
		"IMAGES.star": awsWorkspace,
		"base/IMAGES.star": `image(name = "al2023", source = ` + al2023Source + `)
image(name = "ubuntu", source = ` + ubuntuSource + `)
image(name = "pinned", source = ami("ami-0123456789abcdef0"))
`,
		"apps/IMAGES.star": `image(name = "api", parent = "//base:al2023")
image(name = "worker", source = ` + al2023Source + `)
`,
	}
}

// descriptions are how the lock names the sources of floating().
type descriptions struct{ al2023, ubuntu string }

func describeFloating(t *testing.T, g *engine.Graph) descriptions {
	t.Helper()
	d := descriptions{
		al2023: g.Images[lbl(t, "//base:al2023")].Source.Describe(),
		ubuntu: g.Images[lbl(t, "//base:ubuntu")].Source.Describe(),
	}
	if d.al2023 == d.ubuntu || !strings.Contains(d.al2023, "al2023-ami-2023.*-x86_64") || !strings.Contains(d.ubuntu, "/aws/service/canonical") {
		t.Fatalf("descriptions %+v do not name their sources", d)
	}
	return d
}

func TestReadLockMissing(t *testing.T) {
	lock, err := engine.ReadLock(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if lock.Version != engine.LockVersion || len(lock.Sources) != 0 {
		t.Errorf("got %+v, want an empty lock", lock)
	}
	if _, ok := lock.Find("anything", "us-east-1"); ok {
		t.Errorf("an empty lock finds a source")
	}
}

// TestLockRoundTrip shows that a written lock reads back the same, sorted
// by source and region, ending in a newline, and is written alike twice.
func TestLockRoundTrip(t *testing.T) {
	dir := t.TempDir()
	lock := &engine.Lock{Version: engine.LockVersion, Sources: []engine.LockedSource{
		{Source: "ssm_parameter(name = \"/b\")", Region: "us-east-1", ID: "ami-0000000000000000b", UsedBy: []string{"//x:b"}},
		{Source: "ami_filter(name = \"a\")", Region: "us-east-1", ID: "ami-000000000000000a2", Name: "a-2", Created: "2026-11-02"},
		{Source: "ami_filter(name = \"a\")", Region: "eu-west-1", ID: "ami-000000000000000a1"},
	}}
	if err := lock.Write(dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, rules.LockFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(data), "}\n") {
		t.Errorf("the lock does not end in a newline: %q", data)
	}
	var raw struct {
		Sources []struct{ Source, Region string }
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range raw.Sources {
		order = append(order, s.Source+" "+s.Region)
	}
	if !sort.StringsAreSorted(order) || len(order) != 3 {
		t.Errorf("the file's entries are not sorted: %q", order)
	}
	got, err := engine.ReadLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, lock) { // Write sorted lock in place
		t.Errorf("read back %+v\nwant %+v", got, lock)
	}
	for _, s := range lock.Sources {
		if found, ok := got.Find(s.Source, s.Region); !ok || found.ID != s.ID {
			t.Errorf("Find(%s, %s) = %v, %v; want %s", s.Source, s.Region, found.ID, ok, s.ID)
		}
	}
	if _, ok := got.Find(`ami_filter(name = "a")`, "ap-south-1"); ok {
		t.Errorf("Find found a source in a region it was not locked in")
	}
	if err := got.Write(dir); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(filepath.Join(dir, rules.LockFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(data) {
		t.Errorf("writing the lock read back changed it:\n%s\n%s", data, again)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("Write left files behind: %v", entries)
	}
}

func TestReadLockCorrupt(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "not a lock file"},
		{"not json", "<<<<<<< HEAD\n", "not a lock file"},
		{"truncated", `{"version": 1, "sources": [`, "not a lock file"},
		{"unknown field", `{"version": 1, "sources": [], "resolved": true}`, "not a lock file"},
		{"wrong type", `{"version": "1", "sources": []}`, "not a lock file"},
		{"other version", `{"version": 2, "sources": []}`, "version 2; this imgraph reads version 1"},
		{"no version", `{"sources": []}`, "version 0"},
		{"entry without id", `{"version": 1, "sources": [{"source": "ami_filter()", "region": "us-east-1"}]}`, "lacks source, region or id"},
		{"entry without region", `{"version": 1, "sources": [{"source": "ami_filter()", "id": "ami-1"}]}`, "lacks source, region or id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, rules.LockFile), []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			lock, err := engine.ReadLock(dir)
			var le *engine.LockError
			if !errors.As(err, &le) {
				t.Fatalf("got %+v, %v; want a LockError", lock, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), rules.LockFile+": ") || !le.BadInput() {
				t.Errorf("error %q does not name %s and say %q", err, rules.LockFile, tt.want)
			}
		})
	}
}

// TestUpdateLock shows how far each option lets a lock change.
func TestUpdateLock(t *testing.T) {
	root := writeWorkspace(t, floating())
	a, err := engine.LoadGraph(context.Background(), loader(t, root, rules.Config{}), patterns(t))
	if err != nil {
		t.Fatal(err)
	}
	d := describeFloating(t, a.Graph)
	const region = "us-east-1"
	entry := func(src, region, id string) engine.LockedSource {
		return engine.LockedSource{Source: src, Region: region, ID: id}
	}
	lockOf := func(entries ...engine.LockedSource) *engine.Lock {
		dir := t.TempDir()
		if err := (&engine.Lock{Version: engine.LockVersion, Sources: entries}).Write(dir); err != nil {
			t.Fatal(err)
		}
		l, err := engine.ReadLock(dir)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	const stale = `ami_filter(owners = ["self"], name = "gone-*")`
	tests := []struct {
		name        string
		lock        *engine.Lock
		labels      []string // nil for the whole workspace
		opt         engine.LockOptions
		ids         map[string]string // what the resolver finds
		want        map[string]string // "source region" -> id
		wantChanges []string
		wantCalls   int
		wantMissing []string // the sources a StaleLockError names
	}{{
		name:        "missing entries are resolved",
		lock:        lockOf(),
		ids:         map[string]string{d.al2023: "ami-0000000000000a001", d.ubuntu: "ami-0000000000000b001"},
		want:        map[string]string{d.al2023 + " " + region: "ami-0000000000000a001", d.ubuntu + " " + region: "ami-0000000000000b001"},
		wantChanges: []string{"+ " + d.al2023 + " in us-east-1: ami-0000000000000a001", "+ " + d.ubuntu + " in us-east-1: ami-0000000000000b001"},
		wantCalls:   2,
	}, {
		name:        "only the missing entry is resolved",
		lock:        lockOf(entry(d.al2023, region, "ami-0000000000000a001")),
		ids:         map[string]string{d.al2023: "ami-0000000000000a002", d.ubuntu: "ami-0000000000000b001"},
		want:        map[string]string{d.al2023 + " " + region: "ami-0000000000000a001", d.ubuntu + " " + region: "ami-0000000000000b001"},
		wantChanges: []string{"+ " + d.ubuntu + " in us-east-1: ami-0000000000000b001"},
		wantCalls:   1,
	}, {
		name: "locked and complete",
		lock: lockOf(entry(d.al2023, region, "ami-0000000000000a001"), entry(d.ubuntu, region, "ami-0000000000000b001")),
		opt:  engine.LockOptions{Locked: true},
		want: map[string]string{d.al2023 + " " + region: "ami-0000000000000a001", d.ubuntu + " " + region: "ami-0000000000000b001"},
	}, {
		name:        "locked and missing",
		lock:        lockOf(entry(d.al2023, region, "ami-0000000000000a001")),
		opt:         engine.LockOptions{Locked: true},
		ids:         map[string]string{d.ubuntu: "ami-0000000000000b001"},
		wantMissing: []string{d.ubuntu + " in us-east-1 (//base:ubuntu)"},
	}, {
		name:        "locked in another region only",
		lock:        lockOf(entry(d.al2023, "eu-west-1", "ami-0000000000000a001"), entry(d.ubuntu, region, "ami-0000000000000b001")),
		opt:         engine.LockOptions{Locked: true},
		wantMissing: []string{d.al2023 + " in us-east-1 (//apps:worker //base:al2023)"},
	}, {
		name:        "update re-resolves and reports what moved",
		lock:        lockOf(entry(d.al2023, region, "ami-0000000000000a001"), entry(d.ubuntu, region, "ami-0000000000000b001")),
		opt:         engine.LockOptions{Update: true},
		ids:         map[string]string{d.al2023: "ami-0000000000000a002", d.ubuntu: "ami-0000000000000b001"},
		want:        map[string]string{d.al2023 + " " + region: "ami-0000000000000a002", d.ubuntu + " " + region: "ami-0000000000000b001"},
		wantChanges: []string{"~ " + d.al2023 + " in us-east-1: ami-0000000000000a001 → ami-0000000000000a002"},
		wantCalls:   2,
	}, {
		name:        "update of some images",
		lock:        lockOf(entry(d.al2023, region, "ami-0000000000000a001"), entry(d.ubuntu, region, "ami-0000000000000b001")),
		labels:      []string{"//base:ubuntu"},
		opt:         engine.LockOptions{Update: true},
		ids:         map[string]string{d.al2023: "ami-0000000000000a002", d.ubuntu: "ami-0000000000000b002"},
		want:        map[string]string{d.al2023 + " " + region: "ami-0000000000000a001", d.ubuntu + " " + region: "ami-0000000000000b002"},
		wantChanges: []string{"~ " + d.ubuntu + " in us-east-1: ami-0000000000000b001 → ami-0000000000000b002"},
		wantCalls:   1,
	}, {
		name: "unused entries stay",
		lock: lockOf(entry(d.al2023, region, "ami-0000000000000a001"), entry(d.ubuntu, region, "ami-0000000000000b001"), entry(stale, region, "ami-00000000000000001"), entry(d.al2023, "eu-west-1", "ami-0000000000000e001")),
		want: map[string]string{d.al2023 + " " + region: "ami-0000000000000a001", d.ubuntu + " " + region: "ami-0000000000000b001",
			stale + " " + region: "ami-00000000000000001", d.al2023 + " eu-west-1": "ami-0000000000000e001"},
	}, {
		name:        "prune drops unused entries",
		lock:        lockOf(entry(d.al2023, region, "ami-0000000000000a001"), entry(d.ubuntu, region, "ami-0000000000000b001"), entry(stale, region, "ami-00000000000000001"), entry(d.al2023, "eu-west-1", "ami-0000000000000e001")),
		opt:         engine.LockOptions{Prune: true, Platform: aws.Platform{}},
		want:        map[string]string{d.al2023 + " " + region: "ami-0000000000000a001", d.ubuntu + " " + region: "ami-0000000000000b001"},
		wantChanges: []string{"- " + d.al2023 + " in eu-west-1 (was ami-0000000000000e001)", "- " + stale + " in us-east-1 (was ami-00000000000000001)"},
	}, {
		// The local platform's graph names none of these sources (its
		// select() branches are root filesystems): they are the aws
		// platform's, and stay.
		name:   "prune for another platform keeps these entries",
		lock:   lockOf(entry(d.al2023, region, "ami-0000000000000a001"), entry(stale, region, "ami-00000000000000001")),
		labels: []string{},
		opt:    engine.LockOptions{Prune: true, Platform: local.Platform{}},
		want:   map[string]string{d.al2023 + " " + region: "ami-0000000000000a001", stale + " " + region: "ami-00000000000000001"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			labels := a.Closure
			if tt.labels != nil {
				labels = []label.Label{}
				for _, s := range tt.labels {
					labels = append(labels, lbl(t, s))
				}
			}
			before := fmt.Sprintf("%+v", *tt.lock)
			r := &fakeResolver{ids: tt.ids}
			next, changes, err := engine.UpdateLock(context.Background(), a.Graph, labels, tt.lock, region, r, tt.opt)
			if after := fmt.Sprintf("%+v", *tt.lock); after != before {
				t.Errorf("UpdateLock changed the lock it was given:\n%s\n%s", before, after)
			}
			if tt.wantMissing != nil {
				var se *engine.StaleLockError
				if !errors.As(err, &se) {
					t.Fatalf("got %v, want a StaleLockError", err)
				}
				var missing []string
				for _, m := range se.Missing {
					missing = append(missing, m.Source+" in "+m.Region+" ("+strings.Join(m.UsedBy, " ")+")")
					if !strings.Contains(err.Error(), m.Source+" in "+m.Region+" is not locked") {
						t.Errorf("the error does not name %s: %v", m.Source, err)
					}
				}
				if !reflect.DeepEqual(missing, tt.wantMissing) {
					t.Errorf("missing %q, want %q", missing, tt.wantMissing)
				}
				if len(r.calls) != 0 {
					t.Errorf("a locked update resolved %v", r.calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for i, s := range next.Sources {
				got[s.Source+" "+s.Region] = s.ID
				if i > 0 && (next.Sources[i-1].Source > s.Source || next.Sources[i-1].Source == s.Source && next.Sources[i-1].Region > s.Region) {
					t.Errorf("the new lock is not sorted at %d", i)
				}
				if found, ok := next.Find(s.Source, s.Region); !ok || found.ID != s.ID {
					t.Errorf("the new lock cannot Find its own entry %s", s.Source)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("new lock %v\nwant %v", got, tt.want)
			}
			var gotChanges []string
			for _, c := range changes {
				gotChanges = append(gotChanges, c.String())
			}
			sort.Strings(gotChanges)
			if !reflect.DeepEqual(gotChanges, tt.wantChanges) {
				t.Errorf("changes %q\nwant %q", gotChanges, tt.wantChanges)
			}
			if len(r.calls) != tt.wantCalls {
				t.Errorf("resolved %d times (%v), want %d", len(r.calls), r.calls, tt.wantCalls)
			}
			for _, c := range r.calls {
				if !strings.HasPrefix(c, region+" ") {
					t.Errorf("resolved in another region than the home region: %s", c)
				}
			}
			if e, ok := next.Find(d.al2023, region); ok && tt.labels == nil {
				if want := []string{"//apps:worker", "//base:al2023"}; !reflect.DeepEqual(e.UsedBy, want) {
					t.Errorf("al2023 used by %v, want %v (the images that name it)", e.UsedBy, want)
				}
			}
		})
	}
}

// TestUpdateLockResolveError shows that a source that cannot be resolved
// fails the update.
func TestUpdateLockResolveError(t *testing.T) {
	root := writeWorkspace(t, floating())
	_, err := tryAnalyze(t, root, rules.Config{}, engine.AnalyzeOptions{})
	var re *engine.ResolveError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "cannot resolve") {
		t.Fatalf("without a resolver: got %v, want a ResolveError", err)
	}
	_, err = tryAnalyze(t, root, rules.Config{}, engine.AnalyzeOptions{Resolver: &fakeResolver{}})
	if err == nil || !strings.Contains(err.Error(), "no image matches") {
		t.Fatalf("with a resolver that finds nothing: got %v", err)
	}
}

// TestKeysUseLockedID shows that the key of an image with a floating
// source is computed from the id the lock records: a new id rebakes it and
// everything below it, and nothing else.
func TestKeysUseLockedID(t *testing.T) {
	root := writeWorkspace(t, floating())
	g, err := engine.LoadGraph(context.Background(), loader(t, root, rules.Config{}), patterns(t))
	if err != nil {
		t.Fatal(err)
	}
	d := describeFloating(t, g.Graph)
	writeLock := func(al2023 string) {
		lock := &engine.Lock{Version: engine.LockVersion, Sources: []engine.LockedSource{
			{Source: d.al2023, Region: "us-east-1", ID: al2023},
			{Source: d.ubuntu, Region: "us-east-1", ID: "ami-0000000000000b001"},
			{Source: d.ubuntu, Region: "eu-west-1", ID: "ami-0000000000000e001"},
		}}
		if err := lock.Write(root); err != nil {
			t.Fatal(err)
		}
	}
	writeLock("ami-0000000000000a001")
	a := analyze(t, root, rules.Config{})
	if len(a.LockChanges) != 0 {
		t.Errorf("a complete lock changed: %v", a.LockChanges)
	}
	before := keys(t, root, rules.Config{})
	writeLock("ami-0000000000000a002")
	after := keys(t, root, rules.Config{})
	if got, want := changedKeys(before, after), []string{"//apps:api", "//apps:worker", "//base:al2023"}; !equalStrings(got, want) {
		t.Errorf("changed %v, want %v", got, want)
	}
	changes := engine.Diff(before["//base:al2023"].Parts, after["//base:al2023"].Parts)
	if len(changes) != 1 || changes[0].Path != "source" || !strings.Contains(changes[0].String(), "ami-0000000000000a001 → ") ||
		!strings.Contains(changes[0].String(), "ami-0000000000000a002") {
		t.Errorf("Diff = %v, want the source's id", changes)
	}
	// A lock entry in another region is not this build's.
	if before["//base:ubuntu"].Hex != after["//base:ubuntu"].Hex {
		t.Errorf("//base:ubuntu changed")
	}
}

// TestAnalyzeLock shows what Analyze does with an incomplete lock: with
// Locked it fails naming the sources; with a resolver it resolves them in
// memory and reports the change, leaving IMAGES.lock alone.
func TestAnalyzeLock(t *testing.T) {
	root := writeWorkspace(t, floating())
	_, err := tryAnalyze(t, root, rules.Config{}, engine.AnalyzeOptions{Locked: true, Resolver: &fakeResolver{}})
	var se *engine.StaleLockError
	if !errors.As(err, &se) || len(se.Missing) != 2 {
		t.Fatalf("got %v, want a StaleLockError naming two sources", err)
	}
	for _, want := range []string{al2023Source[:10], "/aws/service/canonical", "//base:ubuntu", "imgraph lock"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}

	r := &fakeResolver{ids: map[string]string{}}
	g, err := engine.LoadGraph(context.Background(), loader(t, root, rules.Config{}), patterns(t))
	if err != nil {
		t.Fatal(err)
	}
	d := describeFloating(t, g.Graph)
	r.ids[d.al2023], r.ids[d.ubuntu] = "ami-0000000000000a001", "ami-0000000000000b001"
	a, err := tryAnalyze(t, root, rules.Config{}, engine.AnalyzeOptions{Resolver: r}, "//apps:api")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.LockChanges) != 1 || a.LockChanges[0].Source != d.al2023 || a.LockChanges[0].Now != "ami-0000000000000a001" {
		t.Errorf("lock changes %v, want al2023 added (ubuntu is not in //apps:api's closure)", a.LockChanges)
	}
	if e, ok := a.Lock.Find(d.al2023, "us-east-1"); !ok || e.ID != "ami-0000000000000a001" {
		t.Errorf("the analysis' lock lacks the resolved source")
	}
	if _, err := os.Stat(filepath.Join(root, rules.LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Analyze wrote %s: %v", rules.LockFile, err)
	}
	if len(a.Keys) != 2 || a.Keys[label.Label{Pkg: "apps", Name: "api"}].Hex == "" {
		t.Errorf("keys %v, want //apps:api and //base:al2023", a.Keys)
	}
}
