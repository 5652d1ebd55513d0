//go:build linux

package ec2sim_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"golang.org/x/crypto/ssh"

	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/internal/testrootfs"
)

func TestMain(m *testing.M) {
	// Instances run their commands in sandboxes: this test binary re-executed.
	sandbox.MaybeRun()
	code := m.Run()
	baseRootfs.Remove()
	os.Exit(code)
}

const (
	home     = "us-east-1"
	away     = "eu-west-1"
	baseName = "al2023-ami-2023.6.20261101.0-kernel-6.1-x86_64"
)

// baseRootfs is the base image's root filesystem, made once and never
// written: instances copy it.
var baseRootfs testrootfs.Shared

func busyboxRootfs(t *testing.T) string { return baseRootfs.Get(t) }

// freePort finds a port free on every loopback address, for the
// instances' SSH servers.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// world is a started simulator with a base image in home.
type world struct {
	t        *testing.T
	sim      *ec2sim.Sim
	endpoint string
	base     string // the base image's id in home
	opts     ec2sim.Options
}

func newWorld(t *testing.T, opts ec2sim.Options) *world {
	t.Helper()
	rootfs := busyboxRootfs(t)
	if opts.SSHPort == 0 {
		opts.SSHPort = freePort(t)
	}
	if opts.Regions == nil {
		opts.Regions = []string{home, away}
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	opts.Log = func(format string, args ...any) { t.Logf(format, args...) }
	sim, err := ec2sim.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	endpoint, err := sim.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	base, err := sim.RegisterImage(home, ec2sim.BaseImage{
		Name: baseName, Owner: "amazon", RootFS: rootfs, Description: "Amazon Linux 2023 AMI",
		Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatalf("RegisterImage: %v", err)
	}
	return &world{t: t, sim: sim, endpoint: endpoint, base: base, opts: opts}
}

// awsConfig is the configuration a client of the real API would load:
// static credentials, a region, the simulator as endpoint and the standard
// retryer, which waits between attempts only when it was throttled (the
// simulator's rate limits refill in real time): 50ms, doubling up to 1s.
func (w *world) awsConfig(region string) aws.Config {
	w.t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", "")),
		config.WithBaseEndpoint(w.endpoint),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 10
				o.Backoff = retry.BackoffDelayerFunc(func(attempt int, err error) (time.Duration, error) {
					if errorCode(err) != "RequestLimitExceeded" {
						return 0, nil
					}
					return min(50*time.Millisecond<<(attempt-1), time.Second), nil
				})
			})
		}),
	)
	if err != nil {
		w.t.Fatal(err)
	}
	return cfg
}

func (w *world) ec2(region string) *ec2.Client { return ec2.NewFromConfig(w.awsConfig(region)) }

func (w *world) ssm(region string) *ssm.Client { return ssm.NewFromConfig(w.awsConfig(region)) }

var ctx = context.Background()

// errorCode is the API error code err carries, as a baker reads it.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %s", code)
	}
	if got := errorCode(err); got != code {
		t.Fatalf("error %v has code %q; want %q", err, got, code)
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// newKey makes an ed25519 key and imports it as a key pair.
func (w *world) newKey(region, name string) ssh.Signer {
	w.t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		w.t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		w.t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	_, err = w.ec2(region).ImportKeyPair(ctx, &ec2.ImportKeyPairInput{
		KeyName: aws.String(name), PublicKeyMaterial: ssh.MarshalAuthorizedKey(sshPub),
	})
	if err != nil {
		w.t.Fatalf("ImportKeyPair: %v", err)
	}
	return signer
}

// run launches one instance of image with the key pair and returns its id.
func (w *world) run(region, image, keyName string) string {
	w.t.Helper()
	in := &ec2.RunInstancesInput{ImageId: aws.String(image), InstanceType: types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}
	if keyName != "" {
		in.KeyName = aws.String(keyName)
	}
	out, err := w.ec2(region).RunInstances(ctx, in)
	if err != nil {
		w.t.Fatalf("RunInstances: %v", err)
	}
	return *out.Instances[0].InstanceId
}

// instance describes one instance.
func (w *world) instance(region, id string) types.Instance {
	w.t.Helper()
	out, err := w.ec2(region).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		w.t.Fatalf("DescribeInstances: %v", err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		w.t.Fatalf("DescribeInstances %s: %d reservations", id, len(out.Reservations))
	}
	return out.Reservations[0].Instances[0]
}

// image describes one image.
func (w *world) image(region, id string) types.Image {
	w.t.Helper()
	out, err := w.ec2(region).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil {
		w.t.Fatalf("DescribeImages: %v", err)
	}
	if len(out.Images) != 1 {
		w.t.Fatalf("DescribeImages %s: %d images", id, len(out.Images))
	}
	return out.Images[0]
}

// sshAddr is where an instance's SSH server listens.
func (w *world) sshAddr(in types.Instance) string {
	if in.PublicIpAddress == nil {
		w.t.Fatalf("instance %s (%s) has no public address", *in.InstanceId, in.State.Name)
	}
	return net.JoinHostPort(*in.PublicIpAddress, strconv.Itoa(w.opts.SSHPort))
}

// dial connects over SSH as ec2-user, recording the host key.
func dial(addr string, key ssh.Signer, hostKey *ssh.PublicKey) (*ssh.Client, error) {
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: "ec2-user",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			if hostKey != nil {
				*hostKey = k
			}
			return nil
		},
		Timeout: 30 * time.Second,
	})
}

// runSSH runs cmd in a new session and returns its output and status.
func runSSH(t *testing.T, c *ssh.Client, cmd, stdin string) (stdout, stderr string, status int) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	defer s.Close()
	var out, errOut strings.Builder
	s.Stdout, s.Stderr = &out, &errOut
	if stdin != "" {
		s.Stdin = strings.NewReader(stdin)
	}
	err = s.Run(cmd)
	var exit *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		status = exit.ExitStatus()
	default:
		t.Fatalf("running %q: %v (stderr %q)", cmd, err, errOut.String())
	}
	return out.String(), errOut.String(), status
}

func asError[T error](err error, target *T) bool { return errors.As(err, target) }
