// Package ec2sim is an EC2 and SSM simulator for tests and benchmarks: an
// HTTP server speaking the EC2 Query API and the SSM JSON API, which the
// real aws-sdk-go-v2 clients and the AWS CLI reach through
// AWS_ENDPOINT_URL, one endpoint for every region.
//
// Its instances are real. An image is backed by a root filesystem (a
// directory); RunInstances copies it into the instance's own directory,
// gives the instance two loopback addresses of its own (a public one from
// 127.0.0.2 upward, a private one in 127.31.0.0/16, its subnet's range) and,
// while it runs, an SSH server on both which runs each command in a
// sandbox (internal/sandbox) over that directory. CreateImage copies the
// directory into a new snapshot, so a child image carries what was written
// into its parent's instance.
//
// Instances and images move through EC2's states with delays that scale
// with Options.TimeFactor; with a factor of 0 every transition happens on
// the next Describe call, never inside the call that started it. Requests
// are throttled with EC2's token buckets (RequestLimitExceeded) unless
// Options say otherwise. Faults
// (throttling, errors, instances that never boot, failed images and copies,
// SSH that refuses) are set through Options, the Go API or POST
// /_sim/faults; GET /_sim/state and /_sim/calls show what the simulator
// holds and what it was asked, /_sim/throttled what it throttled.
package ec2sim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/imgraph/imgraph/internal/sandbox"
)

const (
	// Account is the account id of every caller.
	Account = "123456789012"
	// amazonAccount owns the images registered with owner "amazon", as
	// 137112412989 owns Amazon Linux.
	amazonAccount = "137112412989"
)

// DefaultRegions are the regions a simulator has when Options.Regions is
// empty.
func DefaultRegions() []string {
	return []string{
		"us-east-1", "us-east-2", "us-west-1", "us-west-2",
		"eu-west-1", "eu-west-2", "eu-central-1", "eu-north-1",
		"ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1",
	}
}

// Options configure a simulator.
type Options struct {
	// Addr is where Start listens; the default is 127.0.0.1:0. It must be
	// a loopback address.
	Addr string
	// Regions are the regions that exist (DefaultRegions when empty).
	Regions []string
	// TimeFactor scales EC2's delays (1 is roughly EC2's speed: an
	// instance boots in 15s, an image takes a minute). With 0, every
	// transition happens on the next Describe call.
	TimeFactor float64
	// SSHPort is the port of every instance's SSH server (default 22).
	// Instances take public addresses from 127.0.0.2 up and private
	// ones in 127.31.0.0/16, passing over those whose port another
	// process (another simulator) holds.
	SSHPort int
	// Dir holds the instances' and snapshots' trees; by default a
	// temporary directory, removed by Close.
	Dir string
	// Now is the simulator's clock (default time.Now): delays and SSH
	// refusal windows are measured on it, so tests can move time. It is
	// called from several goroutines.
	Now func() time.Time
	// InstanceProfiles are the IAM instance profiles that exist, by name,
	// besides DefaultInstanceProfile; RunInstances refuses any other.
	InstanceProfiles []string
	// Faults are in force from the start.
	Faults []Fault
	// Log receives one line for each notable event (an SSH server that
	// could not listen, say); nil discards them.
	Log func(format string, args ...any)
	// NoRateLimits turns EC2's request rate limits off. They are on by
	// default: every region has EC2's token buckets, and a request that
	// finds its bucket short is answered RequestLimitExceeded.
	NoRateLimits bool
	// RateLimitScale multiplies every bucket's capacity and refill rate
	// (0 is 1, EC2's): 10 lets a client call ten times as fast as EC2
	// would, 0.1 throttles it ten times sooner.
	RateLimitScale float64
}

// BaseImage is an image registered from outside the API, as Amazon's own
// images are: it is available at once and is backed by RootFS.
type BaseImage struct {
	Name string
	// Owner is "amazon" or an account id (Account for an image of the
	// caller's own).
	Owner string
	// Architecture is x86_64 (the default) or arm64.
	Architecture string
	// RootFS is the root filesystem, a directory. It is never written:
	// instances copy it.
	RootFS      string
	Created     time.Time // the default is now
	Description string
	// DeprecateAt is when the image is deprecated, as its owner set it;
	// zero for never.
	DeprecateAt time.Time
}

// Sim is a running simulator. Its methods are safe for concurrent use.
type Sim struct {
	opts    Options
	now     func() time.Time
	sandbox *sandbox.Sandbox
	dir     string
	ownDir  bool // Close removes dir
	log     func(format string, args ...any)

	mu       sync.Mutex
	regions  map[string]*region
	order    []string // region names, as given
	reqSeq   uint64   // requests so far
	objSeq   uint64   // resources created so far: Describe's order
	addrs    map[uint32]bool
	faults   []*Fault
	faultSeq int
	calls    map[string]map[string]int
	limits   *limiter
	// throttled counts the requests a rate limit answered
	// RequestLimitExceeded, per region and action.
	throttled map[string]map[string]int
	closed    bool
	inflight  sync.WaitGroup // requests being served
	active    int            // requests being served, for Settle
	idle      *sync.Cond     // signalled when active falls to 0; uses mu
	// busy counts the copies reading each tree; a tree removed meanwhile
	// is doomed, and goes when its last copy is done.
	busy   map[string]int
	doomed map[string]bool
	held   chan string // the actions whose answers an answer-lost fault holds
	// sessions are SSM's Session Manager sessions (session.go).
	sessions *sessionTable

	srv      *http.Server
	endpoint string
	serveErr chan error
}

// region is everything one region holds.
type region struct {
	name       string
	vpc        *vpc
	zones      []*zone
	subnets    map[string]*subnet // by id
	launches   int                // RunInstances calls that named no subnet or zone: the next zone's turn
	instances  map[string]*instance
	images     map[string]*image
	snapshots  map[string]*snapshot
	volumes    map[string]*volume
	keyPairs   map[string]*keyPair // by name
	groups     map[string]*securityGroup
	params     map[string]*parameter
	runTokens  map[string]string // RunInstances ClientToken: reservation id
	copyTokens map[string]string // CopyImage ClientToken: image id

	launchTemplates      map[string]*launchTemplate     // by id
	launchTemplateTokens map[string]launchTemplateToken // ClientToken: what it made
}

var regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// New makes a simulator; Start serves it. It fails when this machine
// cannot run the sandboxes instances' commands run in (see sandbox.New):
// sandbox.MaybeRun must run first in main.
func New(opts Options) (*Sim, error) {
	if opts.SSHPort == 0 {
		opts.SSHPort = 22
	}
	if opts.SSHPort < 0 || opts.SSHPort > 65535 {
		return nil, fmt.Errorf("ec2sim: SSH port %d out of range", opts.SSHPort)
	}
	if opts.TimeFactor < 0 {
		return nil, fmt.Errorf("ec2sim: negative time factor %v", opts.TimeFactor)
	}
	if opts.RateLimitScale < 0 {
		return nil, fmt.Errorf("ec2sim: negative rate limit scale %v", opts.RateLimitScale)
	}
	scale := opts.RateLimitScale
	if scale == 0 {
		scale = 1
	}
	if opts.NoRateLimits {
		scale = 0
	}
	if len(opts.Regions) == 0 {
		opts.Regions = DefaultRegions()
	}
	sb, err := sandbox.New(context.Background(), "")
	if err != nil {
		return nil, fmt.Errorf("ec2sim: instances cannot run commands here: %w", err)
	}
	s := &Sim{
		opts:    opts,
		now:     opts.Now,
		sandbox: sb,
		log:     opts.Log,
		regions: map[string]*region{},
		addrs:   map[uint32]bool{},
		calls:   map[string]map[string]int{},
		limits:  &limiter{scale: scale, buckets: map[string]*tokenBucket{}},

		throttled: map[string]map[string]int{},
		busy:      map[string]int{},
		doomed:    map[string]bool{},
		held:      make(chan string, 64),
	}
	s.idle = sync.NewCond(&s.mu)
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = func(string, ...any) {}
	}
	for _, name := range opts.Regions {
		if !regionName.MatchString(name) {
			return nil, fmt.Errorf("ec2sim: %q is not a region name", name)
		}
		if s.regions[name] != nil {
			continue
		}
		s.regions[name] = s.newRegion(name)
		s.order = append(s.order, name)
	}
	for _, f := range opts.Faults {
		if _, err := s.AddFault(f); err != nil {
			return nil, err
		}
	}
	s.dir = opts.Dir
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "ec2sim-")
		if err != nil {
			return nil, fmt.Errorf("ec2sim: %w", err)
		}
		s.dir, s.ownDir = dir, true
	}
	for _, d := range []string{"instances", "snapshots"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("ec2sim: %w", err)
		}
	}
	return s, nil
}

func (s *Sim) newRegion(name string) *region {
	r := &region{
		name:       name,
		instances:  map[string]*instance{},
		images:     map[string]*image{},
		snapshots:  map[string]*snapshot{},
		volumes:    map[string]*volume{},
		keyPairs:   map[string]*keyPair{},
		groups:     map[string]*securityGroup{},
		params:     map[string]*parameter{},
		runTokens:  map[string]string{},
		copyTokens: map[string]string{},

		launchTemplates:      map[string]*launchTemplate{},
		launchTemplateTokens: map[string]launchTemplateToken{},
	}
	r.vpc = &vpc{id: stableID("vpc-", name), cidr: "172.31.0.0/16", tags: map[string]string{}}
	r.addZones()
	r.addDefaultGroup(s.nextSeq())
	return r
}

// Start listens on Options.Addr (127.0.0.1:0 by default) and serves the
// API there in the background; it returns the endpoint, http://ADDR.
func (s *Sim) Start() (endpoint string, err error) {
	addr := s.opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("ec2sim: address %q: %w", addr, err)
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return "", fmt.Errorf("ec2sim: address %q: the simulator listens on loopback addresses only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("ec2sim: %w", err)
	}
	s.mu.Lock()
	if s.srv != nil || s.closed {
		s.mu.Unlock()
		ln.Close()
		return "", errors.New("ec2sim: already started or closed")
	}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	s.endpoint = "http://" + ln.Addr().String()
	s.serveErr = make(chan error, 1)
	srv := s.srv
	s.mu.Unlock()
	go func() { s.serveErr <- srv.Serve(ln) }()
	return s.endpoint, nil
}

// Endpoint is where Start listens ("" before Start).
func (s *Sim) Endpoint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endpoint
}

// Close stops the server and every instance's SSH server, and removes the
// trees of instances and snapshots. Requests in flight finish first.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.srv
	s.mu.Unlock()

	var err error
	if srv != nil {
		err = srv.Close()
		if serr := <-s.serveErr; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
	}
	s.inflight.Wait()
	s.closeSessions()
	s.mu.Lock()
	var servers []*sshServer
	for _, r := range s.regions {
		for _, in := range r.instances {
			if in.server != nil {
				in.server.close()
				servers = append(servers, in.server)
				in.server = nil
			}
			servers = append(servers, in.closing...)
			in.closing = nil
		}
	}
	s.mu.Unlock()
	for _, srv := range servers {
		srv.wait()
	}
	if s.ownDir {
		if rerr := sandbox.RemoveTree(s.dir); err == nil {
			err = rerr
		}
	} else {
		for _, d := range []string{"instances", "snapshots"} {
			if rerr := sandbox.RemoveTree(filepath.Join(s.dir, d)); err == nil {
				err = rerr
			}
		}
	}
	return err
}

// RegisterImage registers a base image in region, available at once and
// backed by img.RootFS, and returns its id.
func (s *Sim) RegisterImage(regionName string, img BaseImage) (string, error) {
	info, err := os.Stat(img.RootFS)
	if err != nil {
		return "", fmt.Errorf("ec2sim: image %s: root filesystem: %w", img.Name, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("ec2sim: image %s: root filesystem %s is not a directory", img.Name, img.RootFS)
	}
	rootfs, err := filepath.Abs(img.RootFS)
	if err != nil {
		return "", err
	}
	if err := checkImageName(img.Name); err != nil {
		return "", fmt.Errorf("ec2sim: %s", err.Message)
	}
	owner, alias := img.Owner, ""
	switch {
	case owner == "amazon":
		owner, alias = amazonAccount, "amazon"
	case owner == "" || owner == "self":
		owner = Account
	case !accountID.MatchString(owner):
		return "", fmt.Errorf("ec2sim: image %s: owner %q is neither \"amazon\" nor an account id", img.Name, img.Owner)
	}
	arch := img.Architecture
	switch arch {
	case "":
		arch = "x86_64"
	case "x86_64", "arm64", "i386":
	default:
		return "", fmt.Errorf("ec2sim: image %s: unknown architecture %q (x86_64 or arm64)", img.Name, arch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regions[regionName]
	if r == nil {
		return "", fmt.Errorf("ec2sim: no region %q", regionName)
	}
	if other := r.imageNamed(owner, img.Name); other != nil {
		return "", fmt.Errorf("ec2sim: image name %q is already in use by %s in %s", img.Name, other.id, regionName)
	}
	created := img.Created
	if created.IsZero() {
		created = s.now()
	}
	snap := &snapshot{
		seq: s.nextSeq(), id: newID("snap-"), owner: owner, alias: alias, state: "completed",
		size: 8, started: created, dir: rootfs, external: true, tags: map[string]string{},
		description: "base image " + img.Name,
	}
	r.snapshots[snap.id] = snap
	im := &image{
		seq: s.nextSeq(), id: newID("ami-"), name: img.Name, description: img.Description,
		owner: owner, alias: alias, architecture: arch, state: "available", created: created,
		rootDevice: rootDevice, tags: map[string]string{}, imds: "v2.0", deprecateAt: img.DeprecateAt.UTC(),
		mappings: []imageMapping{{device: rootDevice, snapshotID: snap.id, size: snap.size, volumeType: "gp3", deleteOnTermination: true}},
	}
	if owner != Account {
		// Others' base images are public, as Amazon's are.
		im.perms = []LaunchPermission{{Group: "all"}}
	}
	r.images[im.id] = im
	return im.id, nil
}

// copyTree copies the tree src to dst with the simulator's lock released:
// copies take long, and other requests go on meanwhile. src is pinned
// until the copy is done. The caller holds the lock, and must expect
// anything to have changed when copyTree returns.
func (c *call) copyTree(src, dst string) error {
	s := c.sim
	s.busy[src]++
	s.mu.Unlock()
	err := s.sandbox.CopyTree(context.Background(), src, dst, nil)
	s.mu.Lock()
	if s.busy[src]--; s.busy[src] == 0 {
		delete(s.busy, src)
		if s.doomed[src] {
			delete(s.doomed, src)
			s.removeTree(src)
		}
	}
	if err == nil && s.closed {
		s.removeTree(dst)
		err = errors.New("the simulator is closing")
	}
	return err
}

// removeTree removes a tree of an instance or snapshot, at once or, while
// a copy reads it, when the copy is done.
func (s *Sim) removeTree(dir string) {
	if s.busy[dir] > 0 {
		s.doomed[dir] = true
		return
	}
	if err := sandbox.RemoveTree(dir); err != nil {
		s.log("ec2sim: removing %s: %v", dir, err)
	}
}

// nextSeq numbers resources in creation order (Describe's order).
func (s *Sim) nextSeq() uint64 {
	s.objSeq++
	return s.objSeq
}

// newID is an EC2 id: prefix and 17 hex digits.
func newID(prefix string) string {
	var b [9]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])[:17]
}

// stableID is an id that is the same in every run, for the default VPC and
// subnet of a region.
func stableID(prefix, seed string) string {
	sum := sha256.Sum256([]byte(prefix + seed))
	return prefix + hex.EncodeToString(sum[:])[:17]
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

var accountID = regexp.MustCompile(`^\d{12}$`)

// transition is a resource on its way to its next state.
type transition struct {
	to  string
	due time.Time // when, with a TimeFactor above 0
	seq uint64    // the request that started it
}

// startTransition starts a move to state to that takes base at TimeFactor 1.
func (c *call) startTransition(to string, base time.Duration) *transition {
	d := time.Duration(float64(base) * c.sim.opts.TimeFactor)
	return &transition{to: to, due: c.now.Add(d), seq: c.seq}
}

// ready reports whether t has happened by this call: with TimeFactor 0,
// on any Describe call after the one that started it; otherwise, once
// its delay has passed.
func (c *call) ready(t *transition) bool {
	if t == nil {
		return false
	}
	if c.sim.opts.TimeFactor == 0 {
		return c.describe && c.seq > t.seq
	}
	return !c.now.Before(t.due)
}

// Base delays of EC2's transitions, at TimeFactor 1.
const (
	bootDelay      = 15 * time.Second
	stopDelay      = 20 * time.Second
	terminateDelay = 15 * time.Second
	imageDelay     = 60 * time.Second
	copyDelay      = 120 * time.Second
	// statusDelay is how long a running instance's status checks take
	// to pass.
	statusDelay = 2 * time.Minute
	// terminatedVisible is how long a terminated instance is still
	// described.
	terminatedVisible = time.Hour
)

// Instances' addresses are all on loopback, so that this machine reaches
// them: public addresses from 127.0.0.2 up, private ones in 127.31.0.0/16,
// the default VPC's 172.31.0.0/16 moved there (an instance of the subnet
// 172.31.16.0/20 gets 127.31.16.4 or above, as EC2 keeps a subnet's first
// four addresses). Both are taken from the addresses free in this
// simulator whose SSH port no other process holds: simulators in other
// processes (say, two test binaries) hand out the same addresses, and an
// instance must never answer for another's.

// privateBlock is where private addresses lie, outside the public range.
var privateBlock = netip.MustParsePrefix("127.31.0.0/16")

// allocPublic gives an instance the lowest free public address.
func (s *Sim) allocPublic() (netip.Addr, error) {
	for n := uint32(2); n < 1<<24-1; n++ {
		a := netip.AddrFrom4([4]byte{127, byte(n >> 16), byte(n >> 8), byte(n)})
		if privateBlock.Contains(a) {
			n += 1<<16 - 1
			continue
		}
		if s.takeAddr(a) {
			return a, nil
		}
	}
	return netip.Addr{}, errors.New("no loopback address left")
}

// allocPrivate gives an instance of a subnet the lowest free private
// address of the subnet's range.
func (s *Sim) allocPrivate(sn *subnet) (netip.Addr, error) {
	base := sn.cidr.Addr().As4()
	size := uint32(1) << (32 - sn.cidr.Bits())
	start := uint32(base[2])<<8 | uint32(base[3])
	for off := uint32(4); off < size-1; off++ {
		n := start + off
		a := netip.AddrFrom4([4]byte{127, 31, byte(n >> 8), byte(n)})
		if s.takeAddr(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no address left in subnet %s", sn.id)
}

// takeAddr takes a if it is free here and elsewhere.
func (s *Sim) takeAddr(a netip.Addr) bool {
	key := addrKey(a)
	if s.addrs[key] || s.heldElsewhere(a) {
		return false
	}
	s.addrs[key] = true
	return true
}

func addrKey(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// heldElsewhere says whether another process listens on a's SSH port.
// Other failures to listen are left for the SSH server to report.
func (s *Sim) heldElsewhere(a netip.Addr) bool {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(a, uint16(s.opts.SSHPort)).String())
	if err != nil {
		return errors.Is(err, syscall.EADDRINUSE)
	}
	ln.Close()
	return false
}

func (s *Sim) freeAddr(a netip.Addr) {
	if a.IsValid() {
		delete(s.addrs, addrKey(a))
	}
}
