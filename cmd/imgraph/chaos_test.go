package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/ec2sim"
)

// The chaos suite: imgraph as a process against the simulator, with a
// fault on every action a build calls, Ctrl-C at many points and while
// each create call is in flight, kill -9 followed by imgraph cleanup, and
// two builds at once. After each, the simulator holds nothing temporary,
// no snapshot without its image and no key's image twice in a region, and
// the exit code and messages say what happened.

// chaos is one workspace of three generations over two regions, on a
// simulator of its own, driven as a process.
type chaos struct {
	t   *testing.T
	sim *ec2sim.Sim
	env []string
	ws  *testWorkspace
}

const chaosImages = 3

func newChaos(t *testing.T) *chaos {
	t.Helper()
	sim, env := newSim(t, 22)
	c := &chaos{t: t, sim: sim, env: env,
		ws: &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}}
	writeFiles(t, c.ws.root, map[string]string{
		"IMAGES.star": `workspace(name = "chaos", home_region = "us-east-1", platform = "aws")` + "\n",
		"base/IMAGES.star": `image(name = "base", source = ami_filter(owners = ["amazon"], name = "al2023-ami-2023.*-x86_64"),
    provision = [shell(inline = ["echo base > /etc/base"])], regions = ["eu-west-1"])
`,
		"mid/IMAGES.star": `image(name = "mid", parent = "//base", provision = [shell(inline = ["echo mid > /etc/mid"])])
`,
		"app/IMAGES.star": `image(name = "app", parent = "//mid", provision = [shell(inline = ["echo app > /etc/app"])],
    regions = ["eu-west-1"], share_with = ["210987654321"], publish_ssm = "/chaos/app")
`,
	})
	if r := c.run("lock"); r.code != exitOK {
		t.Fatalf("lock: %v", r)
	}
	return c
}

// start starts imgraph with args on the chaos workspace's simulator.
func (c *chaos) start(args ...string) *process {
	return c.ws.start(c.t, c.env, args...)
}

// run runs imgraph with args to its end.
func (c *chaos) run(args ...string) result {
	return c.start(args...).wait(c.t)
}

// runs are the runs whose temporary resources the simulator holds.
func (c *chaos) runs() []string {
	runs := map[string]bool{}
	for _, st := range c.sim.State().Regions {
		add := func(tags map[string]string) {
			if tags["imgraph:temporary"] != "" && tags["imgraph:run"] != "" {
				runs[tags["imgraph:run"]] = true
			}
		}
		for _, i := range st.Instances {
			if i.State != "terminated" {
				add(i.Tags)
			}
		}
		for _, x := range st.Images {
			add(x.Tags)
		}
		for _, x := range st.Snapshots {
			add(x.Tags)
		}
		for _, x := range st.KeyPairs {
			add(x.Tags)
		}
		for _, x := range st.SecurityGroups {
			add(x.Tags)
		}
		for _, x := range st.Volumes {
			add(x.Tags)
		}
	}
	return slices.Sorted(maps.Keys(runs))
}

// check says what the simulator holds that it should not: temporary
// resources, snapshots without their image, and a key's image twice in a
// region.
func (c *chaos) check() []string {
	out := leftovers(c.sim)
	for region, st := range c.sim.State().Regions {
		held := map[string]bool{}
		keys := map[string]int{}
		for _, img := range st.Images {
			for _, sn := range img.Snapshots {
				held[sn] = true
			}
			if k := img.Tags["imgraph:key"]; k != "" {
				keys[k]++
			}
		}
		for _, sn := range st.Snapshots {
			if sn.Owner == "123456789012" && !held[sn.ID] {
				out = append(out, fmt.Sprintf("%s snapshot %s without an image", region, sn.ID))
			}
		}
		for k, n := range keys {
			if n > 1 {
				out = append(out, fmt.Sprintf("%s holds %d images of key %s", region, n, k[:12]))
			}
		}
	}
	slices.Sort(out)
	return out
}

// mustBeClean fails the test when the simulator holds what it should not.
func (c *chaos) mustBeClean(when string) {
	c.t.Helper()
	if left := c.check(); len(left) > 0 {
		c.t.Fatalf("%s, the simulator holds:\n  %s", when, strings.Join(left, "\n  "))
	}
}

// finish builds again without faults: the build completes, every image
// is where it is wanted, and nothing is left over.
func (c *chaos) finish() {
	c.t.Helper()
	c.sim.ClearFaults()
	r := c.run("build", "--keep-going")
	if r.code != exitOK {
		c.t.Fatalf("the build after: %v", r)
	}
	rows, _ := summary(c.t, r.stdout)
	if len(rows) != chaosImages {
		c.t.Fatalf("the build after: %d images in the summary, want %d:\n%s", len(rows), chaosImages, r.stdout)
	}
	m, err := engine.ReadManifest(filepath.Join(c.ws.root, "imgraph-out"))
	if err != nil || m.Images["//app:app"].Images["eu-west-1"] == "" {
		c.t.Fatalf("the build after: manifest %+v, %v; want //app:app copied to eu-west-1", m, err)
	}
	c.mustBeClean("after the build that follows")
}

// Every action a build calls fails in turn, for good: the build fails (or
// succeeds, when only a cleanup failed) saying why, whatever is left is
// named with the command that removes it, and does remove it; then a
// build completes.
func TestChaosFaultOnEveryAction(t *testing.T) {
	clean := newChaos(t)
	clean.sim.ResetCalls()
	if r := clean.run("build"); r.code != exitOK {
		t.Fatalf("a build without faults: %v", r)
	}
	clean.mustBeClean("after a build without faults")
	var actions []string
	for _, calls := range clean.sim.Calls() {
		for action := range calls {
			if !slices.Contains(actions, action) {
				actions = append(actions, action)
			}
		}
	}
	if len(actions) < 15 {
		t.Fatalf("a build called only %v", actions)
	}
	// What only undoing a failed image calls, with an image that fails.
	undoing := []string{"DeregisterImage", "DeleteSnapshot", "DescribeSnapshots"}
	actions = append(actions, undoing...)
	slices.Sort(actions)
	for _, action := range actions {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			c := newChaos(t)
			faults := []ec2sim.Fault{{Kind: ec2sim.FaultError, Action: action, Code: "UnauthorizedOperation",
				Message: "You are not authorized to perform this operation."}}
			if slices.Contains(undoing, action) {
				faults = append(faults, ec2sim.Fault{Kind: ec2sim.FaultImageFails, Times: 1})
			}
			for _, f := range faults {
				if _, err := c.sim.AddFault(f); err != nil {
					t.Fatal(err)
				}
			}
			r := c.run("build", "--keep-going")
			switch {
			case r.code != exitOK && r.code != exitBakeFailed:
				t.Fatalf("build with %s denied: %v\nwant exit 0 or 1", action, r)
			case r.code == exitBakeFailed && !strings.Contains(r.stderr, "UnauthorizedOperation"):
				t.Fatalf("build with %s denied: %v\nwant the denial named", action, r)
			}
			c.sim.ClearFaults()
			if left := c.check(); len(left) > 0 {
				if !strings.Contains(r.stderr, "imgraph cleanup") {
					t.Fatalf("build with %s denied left %v, and did not say how to remove it:\n%v", action, left, r)
				}
				args := []string{"cleanup", "--older-than", "0s"}
				for _, run := range c.runs() {
					args = append(args, "--run", run)
				}
				if r := c.run(args...); r.code != exitOK {
					t.Fatalf("cleanup: %v", r)
				}
				c.mustBeClean("after imgraph cleanup")
			}
			c.finish()
		})
	}
}

// Ctrl-C while each call that makes something is in flight (EC2 makes it,
// and shows it late): the build exits 130 having undone all of it.
func TestChaosCtrlCWhileACreateIsInFlight(t *testing.T) {
	for _, action := range []string{"ImportKeyPair", "CreateSecurityGroup", "RunInstances", "AuthorizeSecurityGroupIngress",
		"CreateImage", "CopyImage", "ModifyImageAttribute"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			c := newChaos(t)
			faults := []ec2sim.Fault{{Kind: ec2sim.FaultAnswerLost, Action: action, Times: 1}}
			switch action {
			case "RunInstances", "CreateImage", "CopyImage":
				faults = append(faults, ec2sim.Fault{Kind: ec2sim.FaultLateVisibility, Action: action, Describes: 3})
			}
			for _, f := range faults {
				if _, err := c.sim.AddFault(f); err != nil {
					t.Fatal(err)
				}
			}
			p := c.start("build")
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			select {
			case <-c.sim.HeldAnswers():
			case <-p.done:
				t.Fatalf("the build ended before its %s was held: %v", action, p.wait(t))
			case <-ctx.Done():
				t.Fatalf("%s was never called", action)
			}
			if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			r := p.wait(t)
			if r.code != exitInterrupted || !strings.Contains(r.stderr, "imgraph: interrupted") {
				t.Fatalf("build interrupted in %s: %v\nwant exit 130", action, r)
			}
			c.mustBeClean("after Ctrl-C in " + action)
			c.finish()
		})
	}
}

// Ctrl-C at points of the build: as each image reaches a phase of its
// bake, or its copy starts. The build exits 130 having undone all of it.
func TestChaosCtrlCAtEachPoint(t *testing.T) {
	for _, point := range []struct{ label, action, phase string }{
		{"//base:base", "bake", "prepare"},
		{"//base:base", "bake", "launch"},
		{"//base:base", "bake", "connect"},
		{"//base:base", "bake", "provision [0] shell"},
		{"//mid:mid", "bake", "capture"},
		{"//mid:mid", "bake", "create image"},
		{"//base:base", "copy", "copy"},
		{"//app:app", "bake", "upload"},
		{"//app:app", "copy", "copy"},
	} {
		t.Run(strings.TrimPrefix(point.label, "//")+" "+point.action+" "+point.phase, func(t *testing.T) {
			t.Parallel()
			c := newChaos(t)
			path := filepath.Join(t.TempDir(), "events")
			events := newEventFIFO(t, path)
			p := c.start("build", "--events", path)
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			err := events.waitFor(ctx, point.phase, func(e engine.Event) bool {
				return e.Label == point.label && e.Action == point.action && e.Type == engine.EventPhase && e.Phase == point.phase
			})
			if err != nil {
				t.Fatalf("%v: %v", err, p.wait(t))
			}
			if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			r := p.wait(t)
			if r.code != exitInterrupted && r.code != exitOK {
				t.Fatalf("build interrupted at %v: %v\nwant exit 130 (or 0, had it just finished)", point, r)
			}
			c.mustBeClean(fmt.Sprintf("after Ctrl-C at %v", point))
			c.finish()
		})
	}
}

// kill -9 at points of the build leaves what it made; imgraph cleanup,
// told the run is dead, removes it all.
func TestChaosKillThenCleanup(t *testing.T) {
	for _, action := range []string{"RunInstances", "CreateImage", "CopyImage"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			c := newChaos(t)
			if _, err := c.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultAnswerLost, Action: action, Times: 1}); err != nil {
				t.Fatal(err)
			}
			p := c.start("build")
			select {
			case <-c.sim.HeldAnswers():
			case <-p.done:
				t.Fatalf("the build ended before its %s was held: %v", action, p.wait(t))
			}
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			p.wait(t)
			// A request the build sent just before it died may still be
			// at work (RunInstances copying a tree): cleanup is run once
			// it is done, as a user runs it after a crash.
			c.sim.Settle()
			runs := c.runs()
			if len(runs) != 1 {
				t.Fatalf("a build killed in %s left the resources of runs %v, want one", action, runs)
			}
			r := c.run("cleanup", "--older-than", "0s", "--run", runs[0])
			if r.code != exitOK || !strings.Contains(r.stdout, "removed ") {
				t.Fatalf("cleanup after kill -9 in %s: %v", action, r)
			}
			c.mustBeClean("after imgraph cleanup")
			c.finish()
		})
	}
}

// Two builds at once, on one cache and on two: both succeed, and no key
// is baked or copied twice.
func TestChaosTwoBuildsAtOnce(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "one cache", false: "two caches"}[shared], func(t *testing.T) {
			t.Parallel()
			c := newChaos(t)
			c.sim.ResetCalls()
			other := *c.ws
			if !shared {
				other.cache = filepath.Join(t.TempDir(), "other-cache")
			}
			first := c.start("build")
			second := other.start(t, c.env, "build")
			for i, p := range []*process{first, second} {
				if r := p.wait(t); r.code != exitOK {
					t.Fatalf("build %d: %v", i+1, r)
				}
			}
			c.mustBeClean("after two builds at once")
			if n := c.sim.Calls()["us-east-1"]["CreateImage"]; shared && n != chaosImages {
				t.Errorf("CreateImage called %d times for %d images on one cache", n, chaosImages)
			}
			c.finish()
		})
	}
}
