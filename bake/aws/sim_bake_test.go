package aws

import (
	"context"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/rules"
)

func inlineShell(lines ...string) rules.Provisioner {
	return rules.Provisioner{Kind: rules.ProvisionShell, Inline: lines}
}

// A two-level chain: the child's instance starts from the parent's image
// and sees what the parent's provisioners wrote.
func TestSimBakeChain(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	ctx := context.Background()

	parent := w.job(w.image("parent", inlineShell("mkdir -p /etc/app", "echo from-parent > /etc/app/parent")), run, "")
	parentID, err := w.baker.Bake(ctx, parent.Job)
	if err != nil {
		t.Fatalf("bake parent: %v\nlog:\n%s", err, parent.log)
	}
	child := w.job(w.image("child", inlineShell(
		"test \"$(cat /etc/app/parent)\" = from-parent",
		"echo child saw: $(cat /etc/app/parent)",
		"echo from-child > /etc/app/child",
	)), run, parentID)
	childID, err := w.baker.Bake(ctx, child.Job)
	if err != nil {
		t.Fatalf("bake child: %v\nlog:\n%s", err, child.log)
	}
	if !strings.Contains(child.log.String(), "child saw: from-parent") {
		t.Errorf("child log:\n%s", child.log)
	}
	w.noLeftovers(t, run)

	for _, tc := range []struct {
		id  string
		job *testJob
	}{{parentID, parent}, {childID, child}} {
		img := w.imageState(home, tc.id)
		if img == nil || img.State != "available" {
			t.Fatalf("image %s: %+v", tc.id, img)
		}
		if img.Tags[bake.TagKey] != tc.job.Key || img.Tags[bake.TagLabel] != tc.job.Image.Label.String() ||
			img.Tags["Team"] != "images" || img.Tags[bake.TagTemporary] != "" {
			t.Errorf("image %s tags: %v", tc.id, img.Tags)
		}
		if img.Name != "imgraph-t-"+tc.job.Image.Label.Name+"-"+tc.job.Key[:32] {
			t.Errorf("image name %q", img.Name)
		}
		if len(img.Snapshots) == 0 {
			t.Errorf("image %s has no snapshot", tc.id)
		}
		for _, sn := range w.sim.State().Regions[home].Snapshots {
			for _, id := range img.Snapshots {
				if sn.ID == id && (sn.Tags[bake.TagKey] != tc.job.Key || sn.Tags[bake.TagTemporary] != "" || !sn.Encrypted) {
					t.Errorf("snapshot %s: tags %v, encrypted %v", sn.ID, sn.Tags, sn.Encrypted)
				}
			}
		}
	}
	want := "prepare security group launch authorize ssh connect upload provision [0] shell capture create image cleanup"
	if got := strings.Join(parent.Phases(), " "); got != want {
		t.Errorf("phases = %s\nwant     %s", got, want)
	}
}

// While the bake runs: the group admits the caller's /32 on the SSH port
// alone, the instance asked for IMDSv2 and an encrypted root volume, and
// every temporary resource carries the run's tag.
func TestSimTemporariesAreLockedDownAndTagged(t *testing.T) {
	w := newSimWorld(t, Options{})
	run := newRunID()
	job := w.job(w.image("locked"), run, "")
	checked := false
	job.onPhase = func(p string) {
		if p != "connect" {
			return
		}
		checked = true
		st := w.sim.State().Regions[home]
		var groups, keys, instances, volumes int
		for _, g := range st.SecurityGroups {
			if g.Tags[bake.TagRun] != run {
				continue
			}
			groups++
			if g.Tags[bake.TagTemporary] != "true" || g.Tags[bake.TagLabel] != "//t:locked" || g.Tags[bake.TagCreated] == "" {
				t.Errorf("group tags: %v", g.Tags)
			}
			if len(g.Ingress) != 1 {
				t.Errorf("group %s has %d ingress rules: %+v", g.ID, len(g.Ingress), g.Ingress)
				continue
			}
			r := g.Ingress[0]
			if r.Protocol != "tcp" || r.FromPort != w.port || r.ToPort != w.port || r.CIDR != "127.0.0.1/32" || r.CIDRv6 != "" || r.GroupID != "" {
				t.Errorf("ingress rule: %+v, want tcp %d from 127.0.0.1/32", r, w.port)
			}
		}
		for _, k := range st.KeyPairs {
			if k.Tags[bake.TagRun] == run {
				keys++
				if k.Type != "ed25519" || k.Tags[bake.TagTemporary] != "true" {
					t.Errorf("key pair %s: type %s, tags %v", k.Name, k.Type, k.Tags)
				}
			}
		}
		for _, in := range st.Instances {
			if in.Tags[bake.TagRun] != run {
				continue
			}
			instances++
			if in.HTTPTokens != "required" || in.Tags[bake.TagTemporary] != "true" || in.InstanceType != "t3.micro" {
				t.Errorf("instance %s: tokens %q, type %s, tags %v", in.ID, in.HTTPTokens, in.InstanceType, in.Tags)
			}
		}
		for _, v := range st.Volumes {
			if v.Tags[bake.TagRun] != run {
				continue
			}
			volumes++
			if !v.Encrypted || v.Size != 8 || !v.DeleteOnTermination || v.Tags[bake.TagTemporary] != "true" {
				t.Errorf("volume %+v", v)
			}
		}
		if groups != 1 || keys != 1 || instances != 1 || volumes != 1 {
			t.Errorf("run %s has %d groups, %d key pairs, %d instances, %d volumes; want 1 of each", run, groups, keys, instances, volumes)
		}
	}
	if _, err := w.baker.Bake(context.Background(), job.Job); err != nil {
		t.Fatalf("%v\nlog:\n%s", err, job.log)
	}
	if !checked {
		t.Fatal("the bake never reported the connect phase")
	}
	w.noLeftovers(t, run)
}

// Options.SSHCIDR replaces the caller's address, and a KMS key and volume
// size reach the volume.
func TestSimSSHCIDRAndVolume(t *testing.T) {
	w := newSimWorld(t, Options{SSHCIDR: "127.0.0.0/8"})
	run := newRunID()
	im := w.image("sized")
	im.AWS.VolumeSizeGB = 16
	im.AWS.KMSKey = "alias/images"
	job := w.job(im, run, "")
	job.onPhase = func(p string) {
		if p != "connect" {
			return
		}
		st := w.sim.State().Regions[home]
		for _, g := range st.SecurityGroups {
			if g.Tags[bake.TagRun] == run && (len(g.Ingress) != 1 || g.Ingress[0].CIDR != "127.0.0.0/8") {
				t.Errorf("ingress: %+v", g.Ingress)
			}
		}
		for _, v := range st.Volumes {
			if v.Tags[bake.TagRun] == run && (v.Size != 16 || !v.Encrypted || v.KmsKeyID == "") {
				t.Errorf("volume %+v", v)
			}
		}
	}
	if _, err := w.baker.Bake(context.Background(), job.Job); err != nil {
		t.Fatalf("%v\nlog:\n%s", err, job.log)
	}
	w.noLeftovers(t, run)
}

func copyProvisioner(src *rules.File, dest string) rules.Provisioner {
	return rules.Provisioner{Kind: rules.ProvisionCopy, Src: src, Dest: dest}
}
