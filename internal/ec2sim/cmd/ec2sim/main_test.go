//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/internal/sandbox"
)

// runMainEnv makes the test binary, re-executed, be the command.
const runMainEnv = "EC2SIM_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
	}
	sandbox.MaybeRun()
	os.Exit(m.Run())
}

func TestCommand(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skipf("needs a static BusyBox at /bin/busybox: %v", err)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile("/bin/busybox")
	os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), data, 0o755)
	os.Symlink("busybox", filepath.Join(rootfs, "bin", "sh"))

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	sshPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-regions", "us-east-1,eu-west-1", "-time-factor", "0",
		"-ssh-port", strconv.Itoa(sshPort), "-dir", t.TempDir(),
		"-image", "us-east-1:al2023-ami-2023.6-x86_64="+rootfs,
		"-param", "us-east-1:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64=@al2023-ami-2023.6-x86_64")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		cmd.Wait()
		t.Fatalf("no output; stderr:\n%s", stderr.String())
	}
	endpoint, ok := strings.CutPrefix(lines.Text(), "endpoint=http://127.0.0.1:")
	if !ok {
		t.Fatalf("first line %q; want endpoint=http://127.0.0.1:PORT", lines.Text())
	}
	endpoint = "http://127.0.0.1:" + endpoint
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "image region=us-east-1 id=ami-") {
		t.Fatalf("second line %q; want the image", lines.Text())
	}
	imageID := strings.Fields(strings.TrimPrefix(lines.Text(), "image region=us-east-1 id="))[0]

	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		t.Fatal(err)
	}
	images, err := ec2.NewFromConfig(cfg).DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(images.Images) != 1 || *images.Images[0].ImageId != imageID || *images.Images[0].Name != "al2023-ami-2023.6-x86_64" {
		t.Fatalf("DescribeImages: %+v, %v", images, err)
	}
	p, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")})
	if err != nil || *p.Parameter.Value != imageID {
		t.Fatalf("GetParameter: %+v, %v", p, err)
	}
	resp, err := http.Get(endpoint + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	var st ec2sim.State
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || len(st.Regions["us-east-1"].Images) != 1 {
		t.Fatalf("/_sim/state: %+v, %v", st, err)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the command did not stop on SIGTERM")
	}
}

func TestCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-image", "no-region"},
		{"-param", "us-east-1:/x=@missing"},
		{"extra"},
		{"-rate-scale", "0"},
	} {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), runMainEnv+"=1")
		out, err := cmd.CombinedOutput()
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 {
			t.Errorf("%v: %v (%s); want exit status 2", args, err, out)
		}
	}
}
