// Command ec2sim runs the EC2 and SSM simulator on its own, for people and
// for clients such as the AWS CLI:
//
//	ec2sim -addr 127.0.0.1:4566 -image us-east-1:al2023-base=./rootfs
//
// It prints endpoint=http://ADDR as its first line, then one line per
// image it registered, and serves until SIGINT or SIGTERM. Point a client
// at it with AWS_ENDPOINT_URL=http://ADDR and any credentials; see the
// simulator's README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/imgraph/imgraph/internal/ec2sim"
	"github.com/imgraph/imgraph/internal/sandbox"
)

func main() {
	// Instances run commands in sandboxes: this program re-executed.
	sandbox.MaybeRun()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// repeated is a flag that may be given many times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, " ") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// run serves until ctx is done; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("ec2sim", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:0", "listen on this loopback `address`")
	regions := flags.String("regions", strings.Join(ec2sim.DefaultRegions(), ","), "the regions that exist, comma-separated")
	timeFactor := flags.Float64("time-factor", 0.1, "scale EC2's delays (1: an instance boots in 15s; 0: every transition on the next Describe call)")
	sshPort := flags.Int("ssh-port", 22, "the `port` of every instance's SSH server (on its own 127.0.0.N address)")
	dir := flags.String("dir", "", "keep instances' and snapshots' trees in this `directory` (default: a temporary one)")
	rateLimits := flags.Bool("rate-limits", true, "throttle requests as EC2 does, with its token buckets (RequestLimitExceeded)")
	rateScale := flags.Float64("rate-scale", 1, "multiply every rate limit bucket's capacity and refill rate by this `factor`")
	var images, params, profiles repeated
	flags.Var(&profiles, "instance-profile", "an IAM instance profile that exists, by `name`, besides "+ec2sim.DefaultInstanceProfile+" (repeatable)")
	flags.Var(&images, "image", "register a base image owned by amazon: `region:name=ROOTFS_DIR` (repeatable)")
	flags.Var(&params, "param", "set a public SSM parameter: `region:/name=value`; a value @NAME is the id of the image NAME of that region (repeatable)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "ec2sim: unexpected arguments: %s\n", strings.Join(flags.Args(), " "))
		return 2
	}
	if *rateScale <= 0 {
		fmt.Fprintf(stderr, "ec2sim: -rate-scale %v: want a factor above 0 (-rate-limits=false turns the limits off)\n", *rateScale)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "ec2sim: %v\n", err)
		return 1
	}
	sim, err := ec2sim.New(ec2sim.Options{
		Addr: *addr, Regions: strings.Split(*regions, ","), TimeFactor: *timeFactor, SSHPort: *sshPort, Dir: *dir,
		InstanceProfiles: profiles, NoRateLimits: !*rateLimits, RateLimitScale: *rateScale,
		Log: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) },
	})
	if err != nil {
		return fail(err)
	}
	defer sim.Close()

	type registered struct{ region, name, id string }
	var done []registered
	for _, spec := range images {
		region, rest, ok1 := strings.Cut(spec, ":")
		name, rootfs, ok2 := strings.Cut(rest, "=")
		if !ok1 || !ok2 || region == "" || name == "" || rootfs == "" {
			fmt.Fprintf(stderr, "ec2sim: -image %q: want region:name=ROOTFS_DIR\n", spec)
			return 2
		}
		id, err := sim.RegisterImage(region, ec2sim.BaseImage{Name: name, Owner: "amazon", RootFS: rootfs})
		if err != nil {
			return fail(err)
		}
		done = append(done, registered{region, name, id})
	}
	for _, spec := range params {
		region, rest, ok1 := strings.Cut(spec, ":")
		name, value, ok2 := strings.Cut(rest, "=")
		if !ok1 || !ok2 || region == "" || name == "" {
			fmt.Fprintf(stderr, "ec2sim: -param %q: want region:/name=value\n", spec)
			return 2
		}
		if ref, ok := strings.CutPrefix(value, "@"); ok {
			value = ""
			for _, r := range done {
				if r.region == region && r.name == ref {
					value = r.id
				}
			}
			if value == "" {
				fmt.Fprintf(stderr, "ec2sim: -param %q: no image %s registered in %s\n", spec, ref, region)
				return 2
			}
		}
		if err := sim.PutParameter(region, name, value); err != nil {
			return fail(err)
		}
	}
	endpoint, err := sim.Start()
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "endpoint=%s\n", endpoint)
	for _, r := range done {
		fmt.Fprintf(stdout, "image region=%s id=%s name=%s\n", r.region, r.id, r.name)
	}
	<-ctx.Done()
	if err := sim.Close(); err != nil {
		return fail(err)
	}
	return 0
}
