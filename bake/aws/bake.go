package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/rules"
)

// bakeState is what the steps of one bake share.
type bakeState struct {
	b       *Baker
	job     *bake.Job
	label   string // the image's label, for names and errors
	attrs   rules.AWSAttrs
	region  string
	ec2     *ec2.Client
	log     io.Writer // safe for the concurrent writes of stdout and stderr
	phase   func(string)
	created time.Time
	// bakeID tells this bake's resources from those of other bakes of the
	// same run in their names, which are made up before the calls that
	// make them, so a cleanup can find one whose call never answered.
	bakeID string

	// step_key_pair
	keyName string
	signer  ssh.Signer

	// step_network, step_session
	net netState

	// step_security_group
	groupName   string
	groupCreate *ec2.CreateSecurityGroupInput
	groupLost   bool // its answer is in doubt: it may have made the group
	groupID     string

	// step_run_instance
	launched     bool // RunInstances was called, whether or not it answered
	launch       *ec2.RunInstancesInput
	launchLost   bool // its answer is in doubt: it may have launched
	instanceID   string
	instanceLeft bool // it could not be terminated: its group cannot go
	spot         spotState
	abort        abortState
	address      string // where SSH reaches the instance

	// step_connect
	comm *communicator
	sudo string // "sudo -n -E " when the SSH user is not root

	// alive holds what stops the heartbeats of the bake's temporary
	// resources, called once the bake is over.
	alive []func()

	// step_upload: each script's path on the instance, by provisioner
	scripts map[int]string

	// step_create_image
	imageName    string
	imageStarted bool // CreateImage was called, whether or not it answered
	imageCreate  *ec2.CreateImageInput
	imageLost    bool // its answer is in doubt: it may have made the image
	imageSweep   bool // to look for that image once the instance is gone
	imageID      string
	image        *types.Image // as it was once available
	imageBeat    func()       // stops the image's heartbeat
	imageDone    bool         // the image is the bake's result: kept, or another run's

	// testing: the "provisioners" are an image's tests, run on an
	// instance of the image (see Test).
	testing bool
}

// Bake bakes job's image in job.Region and returns its id.
func (b *Baker) Bake(ctx context.Context, job *bake.Job) (string, error) {
	s, err := b.newBakeState(job)
	if err != nil {
		return "", err
	}
	var left *abortLeft
	r := &runner[*bakeState]{steps: bakeSteps(), cleaning: func() { s.phase(bake.PhaseCleanup) },
		failed: func(error) {
			var err error
			if left, err = s.leaveForDebugging(ctx); err != nil {
				b.warn("aws: bake %s: --on-error=abort: %v; cleaning up instead", s.label, err)
			}
		}}
	stepErr, cleanupErr := r.run(ctx, s)
	if left != nil {
		fmt.Fprintf(s.log, "==> %s\n", left)
		stepErr = fmt.Errorf("%w\n%s", stepErr, left)
	}
	for _, done := range s.alive {
		done()
	}
	if stepErr == nil && cleanupErr != nil {
		// The image is good: what failed is undoing a temporary, which
		// `imgraph cleanup` can still remove.
		b.warn("aws: bake %s: %v", s.label, cleanupErr)
		fmt.Fprintf(s.log, "==> warning: %v\n", cleanupErr)
		return s.imageID, nil
	}
	if err := errors.Join(stepErr, cleanupErr); err != nil {
		return "", fmt.Errorf("aws: bake %s: %w", s.label, err)
	}
	return s.imageID, nil
}

// newBakeState is a bake of job about to start.
func (b *Baker) newBakeState(job *bake.Job) (*bakeState, error) {
	if job.Image == nil {
		return nil, errors.New("aws: bake of a job with no image")
	}
	label := job.Image.Label.String()
	client, err := b.ec2In(job.Region)
	if err != nil {
		return nil, fmt.Errorf("aws: bake %s: %w", label, err)
	}
	s := &bakeState{
		b: b, job: job, label: label, region: job.Region, ec2: client, attrs: job.Image.AWS.WithDefaults(),
		log: logOf(job), phase: job.Phase,
		created: time.Now().UTC(), bakeID: randomHex(4),
	}
	if job.Log == nil {
		s.log = io.Discard
	}
	if s.phase == nil {
		s.phase = func(string) {}
	}
	return s, nil
}

// bakeSteps are the steps of a bake, in order: an instance's, then the
// image's.
func bakeSteps() []step[*bakeState] {
	steps := []step[*bakeState]{&stepSweepImage{}} // first, so that its cleanup runs last
	steps = append(steps, instanceSteps()...)
	return append(steps,
		&stepStopInstance{},
		&stepCreateImage{},
		&stepImageAttributes{},
		&stepTestImage{},
		&stepKeepImage{},
	)
}

// testSteps are the steps of a test of an image: an instance's, whose
// provisioners are the tests.
func testSteps() []step[*bakeState] { return instanceSteps() }

// instanceSteps launch an instance, reach it and run the provisioners on
// it: what bakes and tests share.
func instanceSteps() []step[*bakeState] {
	return []step[*bakeState]{
		&stepKeyPair{},
		&stepNetwork{},
		&stepSecurityGroup{},
		&stepRunInstance{},
		&stepAuthorizeSSH{},
		&stepSession{},
		&stepConnect{},
		&stepUpload{},
		&stepProvision{},
	}
}

// tempTags are the tags of every temporary resource of the bake.
func (s *bakeState) tempTags() []types.Tag {
	return toTags(map[string]string{
		bake.TagRun:       s.job.RunID,
		bake.TagTemporary: "true",
		bake.TagCreated:   s.created.Format(time.RFC3339),
		TagHeartbeat:      s.created.Format(time.RFC3339),
		bake.TagLabel:     s.label,
	})
}

// beating renews the heartbeat of the bake's resources ids until stop is
// called, or the bake is over.
func (s *bakeState) beating(ids ...string) (stop func()) {
	done := s.b.heart.alive(s.region, ids...)
	s.alive = append(s.alive, done)
	return done
}

// logOf is the writer of a bake's log: the job's own where it masks each
// stream apart (and is safe for concurrent use), or one that serializes
// writes to it.
func logOf(job *bake.Job) io.Writer {
	if _, ok := job.Log.(bake.Streamer); ok {
		return job.Log
	}
	return &lockedWriter{w: job.Log}
}

// run runs cmd on the instance with stdin, its stdout and stderr going to
// the log as streams of their own.
func (s *bakeState) run(ctx context.Context, cmd string, stdin io.Reader) error {
	stdout, stderr, done := bake.Streams(s.log)
	defer done()
	return s.comm.run(ctx, cmd, stdin, stdout, stderr)
}

// lockedWriter serializes writes: an SSH session copies stdout and stderr
// from two goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
