package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/internal/emulators"
)

// The shared cache's end-to-end tests: imgraph processes on the aws
// platform (the EC2 simulator) sharing a cache in S3 and DynamoDB (the
// emulators).

// sharedCache starts the simulator and the emulators, creates the shared
// cache, and returns the simulator and the cache's URL.
func sharedCache(t *testing.T, lease string) (*ec2sim.Sim, string) {
	t.Helper()
	sim := startSim(t)
	emulators.Start(t)
	// The emulators' environment names them per service; EC2 and SSM
	// are the simulator's.
	t.Setenv("AWS_ENDPOINT_URL", sim.Endpoint())
	t.Setenv("AWS_POLL_DELAY_SECONDS", "0.01")
	// With a shared cache the local layer is the default directory: each
	// machine in these tests gets its own.
	t.Setenv("IMGRAPH_CACHE_DIR", t.TempDir())
	url := "s3://team-cache/imgraph?table=imgraph-cache&region=us-east-1&lease=" + lease
	ws := &testWorkspace{root: t.TempDir(), cache: filepath.Join(t.TempDir(), "cache")}
	if r := ws.imgraph(t, nil, "cache", "init", "--cache", url); r.code != exitOK || !strings.Contains(r.stdout, "created") {
		t.Fatalf("cache init: %v", r)
	}
	return sim, url
}

// chain is a workspace of three images on the aws platform.
func chain(t *testing.T, extra string) *testWorkspace {
	t.Helper()
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	writeFiles(t, ws.root, map[string]string{
		"IMAGES.star": `workspace(name = "t", platform = "aws")` + "\n",
		"c/IMAGES.star": `
image(name = "base", source = ami_filter(owners = ["amazon"], name = "al2023-ami-2023.*-x86_64"),
      provision = [shell(inline = ["echo base > /etc/base"` + extra + `])])
image(name = "mid", parent = ":base", provision = [shell(inline = ["test -f /etc/base", "echo mid > /etc/mid"])])
image(name = "top", parent = ":mid", provision = [shell(inline = ["test -f /etc/mid"])])
`,
	})
	return ws
}

func createImages(sim *ec2sim.Sim) int { return sim.Calls()["us-east-1"]["CreateImage"] }

func TestSharedCacheTwoBuildsBakeEachKeyOnce(t *testing.T) {
	sim, url := sharedCache(t, "1m")
	a, b := chain(t, ""), chain(t, "")
	pa := a.start(t, []string{"IMGRAPH_CACHE_DIR=" + t.TempDir()}, "build", "--cache", url, "//c/...")
	pb := b.start(t, []string{"IMGRAPH_CACHE_DIR=" + t.TempDir()}, "build", "--cache", url, "//c/...")
	ra, rb := pa.wait(t), pb.wait(t)
	if ra.code != exitOK || rb.code != exitOK {
		t.Fatalf("builds:\n%v\n%v", ra, rb)
	}
	if n := createImages(sim); n != 3 {
		t.Errorf("%d CreateImage calls for 3 keys, want each baked once", n)
	}
	ma, err := engine.ReadManifest(filepath.Join(a.root, "imgraph-out"))
	if err != nil {
		t.Fatal(err)
	}
	mb, err := engine.ReadManifest(filepath.Join(b.root, "imgraph-out"))
	if err != nil {
		t.Fatal(err)
	}
	for label, ea := range ma.Images {
		if eb := mb.Images[label]; fmt.Sprint(eb) != fmt.Sprint(ea) {
			t.Errorf("%s: %v and %v, want the same image in both manifests", label, ea, eb)
		}
	}
	if len(ma.Images) != 3 {
		t.Errorf("manifest holds %d images, want 3", len(ma.Images))
	}
}

// TestSharedCacheLeaseTakeover kills the lease holder mid-bake; the other
// build takes the key over once the lease expires.
func TestSharedCacheLeaseTakeover(t *testing.T) {
	sim, url := sharedCache(t, "1s")
	g := newGate(t)
	holder := chain(t, "")
	// The holder's base differs from the others' only in a secret: the
	// keys are the same, and only the holder's bake stops at the gate.
	writeFiles(t, holder.root, map[string]string{"c/IMAGES.star": strings.Replace(readFile(t, filepath.Join(holder.root, "c/IMAGES.star")),
		`provision = [shell(inline = ["echo base > /etc/base"])]`,
		`provision = [shell(inline = ["echo base > /etc/base", "[ \"$HOLD\" = no ] || `+g.pass("holding")+`"], secret_env = ["HOLD"])]`, 1)})
	other := chain(t, "")
	writeFiles(t, other.root, map[string]string{"c/IMAGES.star": readFile(t, filepath.Join(holder.root, "c/IMAGES.star"))})

	p := holder.start(t, []string{"HOLD=yes", "IMGRAPH_CACHE_DIR=" + t.TempDir()}, "build", "--cache", url, "//c/...")
	select {
	case <-g.arrival("holding"):
	case <-p.done:
		t.Fatalf("the holder ended before holding: %v", p.wait(t))
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	r := other.imgraph(t, map[string]string{"HOLD": "no"}, "build", "--cache", url, "//c/...")
	if r.code != exitOK {
		t.Fatalf("the build after the holder died: %v", r)
	}
	if _, count := summary(t, r.stdout); count != "3 images: 3 baked" {
		t.Errorf("summary %q, want all three baked by the second build", count)
	}
	if n := createImages(sim); n != 3 {
		t.Errorf("%d CreateImage calls, want 3: the killed holder never created one", n)
	}
}

// TestSharedCacheLosesItsIndex shows that a record lost from S3, and then
// the whole table, never force a rebake: the images remember their keys.
func TestSharedCacheLosesItsIndex(t *testing.T) {
	sim, url := sharedCache(t, "1m")
	ws := chain(t, "")
	if r := ws.imgraph(t, nil, "build", "--cache", url, "//c/..."); r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	baked := createImages(sim)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })

	// A record deleted from S3, its index item carrying no summary (as
	// one written by an older imgraph): a miss with a warning, then the
	// image is found by its tag.
	objects, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: awssdk.String("team-cache"), Prefix: awssdk.String("imgraph/records/")})
	if err != nil || len(objects.Contents) != 3 {
		t.Fatalf("records in S3: %v, %d", err, len(objects.Contents))
	}
	lost := objects.Contents[0].Key
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: awssdk.String("team-cache"), Key: lost}); err != nil {
		t.Fatal(err)
	}
	_, err = dynamodb.NewFromConfig(cfg).UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: awssdk.String("imgraph-cache"),
		Key: map[string]ddbtypes.AttributeValue{
			"key": &ddbtypes.AttributeValueMemberS{Value: strings.TrimSuffix(path.Base(*lost), ".json")},
		},
		UpdateExpression: awssdk.String("REMOVE #record"), ExpressionAttributeNames: map[string]string{"#record": "record"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fresh := &testWorkspace{root: ws.root, cache: filepath.Join(t.TempDir(), "cache")}
	t.Setenv("IMGRAPH_CACHE_DIR", t.TempDir()) // a new machine
	r := fresh.imgraph(t, nil, "build", "--cache", url, "//c/...")
	if _, count := summary(t, r.stdout); r.code != exitOK || count != "3 images: 3 cached" || !strings.Contains(r.stderr, "warning") {
		t.Fatalf("build after a lost record: %v\nwant all cached, with a warning", r)
	}

	// The whole table gone: bad input until it is created again, and then
	// every image is found by its tag.
	if _, err := dynamodb.NewFromConfig(cfg).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: awssdk.String("imgraph-cache")}); err != nil {
		t.Fatal(err)
	}
	fresh = &testWorkspace{root: ws.root, cache: filepath.Join(t.TempDir(), "cache")}
	t.Setenv("IMGRAPH_CACHE_DIR", t.TempDir()) // and another
	r = fresh.imgraph(t, nil, "build", "--cache", url, "//c/...")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "imgraph cache init") {
		t.Fatalf("build without the table: %v\nwant exit 2 naming imgraph cache init", r)
	}
	if r := fresh.imgraph(t, nil, "cache", "init", "--cache", url); r.code != exitOK {
		t.Fatalf("cache init: %v", r)
	}
	r = fresh.imgraph(t, nil, "build", "--cache", url, "//c/...")
	if r.code != exitOK {
		t.Fatalf("build after the table was recreated: %v", r)
	}
	if _, count := summary(t, r.stdout); count != "3 images: 3 cached" {
		t.Fatalf("build after the table was recreated: %v", r)
	}
	if n := createImages(sim); n != baked {
		t.Errorf("CreateImage went from %d to %d: losing the cache forced a rebake", baked, n)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
