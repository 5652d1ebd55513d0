package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Through the CLI: a parent baked in the subnet its tags pick, reached at
// its private address, and a child over Session Manager; how the instance
// is reached is in no key, so changing it rebakes nothing.
func TestAWSPrivateSubnetAndSessionManager(t *testing.T) {
	sim := startSim(t)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := ec2.NewFromConfig(cfg)
	subnets, err := client.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{*subnets.Subnets[0].SubnetId},
		Tags: []types.Tag{{Key: aws.String("Tier"), Value: aws.String("private")}}}); err != nil {
		t.Fatal(err)
	}
	images := func(parentReach, childReach string) string {
		return `image(
    name = "base",
    source = ami_filter(owners = ["amazon"], name = "al2023-ami-2023.*-x86_64"),
    provision = [shell(inline = ["echo base > /etc/base"])],
    subnet_filter = {"tag:Tier": "private"},
    associate_public_ip = False,
    ` + parentReach + `
)

image(
    name = "app",
    parent = ":base",
    provision = [shell(inline = ["test \"$(cat /etc/base)\" = base", "echo app > /etc/app"])],
    ` + childReach + `
)
`
	}
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	writeFiles(t, ws.root, map[string]string{
		"IMAGES.star":     `workspace(name = "t", platform = "aws")` + "\n",
		"net/IMAGES.star": images(`ssh_interface = "private_ip",`, `ssh_interface = "session_manager",`),
	})
	if r := ws.imgraph(t, nil, "build", "//net/..."); r.code != exitOK {
		t.Fatalf("build: %v", r)
	}
	for id, status := range sim.Sessions() {
		if status != "Terminated" {
			t.Errorf("session %s is %s after the build", id, status)
		}
	}
	if len(sim.Sessions()) == 0 {
		t.Error("the child's bake started no session")
	}
	made := callsTo(sim, "CreateImage")
	writeFiles(t, ws.root, map[string]string{
		"net/IMAGES.star": images(`ssh_interface = "public_ip",`, `ssh_interface = "private_ip",`),
	})
	r := ws.imgraph(t, nil, "build", "//net/...")
	if r.code != exitOK || callsTo(sim, "CreateImage") != made {
		t.Errorf("a build after changing ssh_interface: %v; made %d images, want none", r, callsTo(sim, "CreateImage")-made)
	}
	if !strings.Contains(r.stdout, "cached") {
		t.Errorf("want both images cached:\n%s", r.stdout)
	}
}
