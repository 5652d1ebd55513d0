package main

import (
	"context"
	"runtime"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/bake/aws"
	"github.com/imgraph/imgraph/bake/local"
	"github.com/imgraph/imgraph/cache"
)

// platform is one platform imgraph bakes for: what it is, which needs no
// account, and how to reach it.
type platform struct {
	bake.Platform
	// reach opens the platform's baker: an account's API clients, or
	// this machine's sandbox (keeping its images in the local cache).
	reach func(ctx context.Context, e *env, opts *options, local *cache.Local) (bake.Baker, error)
	// jobs is how many bakes run at once when --jobs is not given; 0 is
	// this machine's CPU count, for a platform whose bakes use its CPUs.
	jobs int
}

// AWSJobs is the aws platform's --jobs: its bakes mostly wait on EC2, and
// the client's rate limiter, not --jobs, keeps the API from being flooded.
const AWSJobs = 16

// jobsFor is the number of bakes at once: --jobs, or p's default.
func jobsFor(p platform, f *buildFlags) int {
	switch {
	case f.jobsSet:
		return f.jobs
	case p.jobs > 0:
		return p.jobs
	}
	return runtime.NumCPU()
}

// platforms are the platforms of this imgraph, one for each name
// rules.Platforms gives.
func platforms() []platform {
	return []platform{
		{Platform: aws.Platform{}, reach: func(ctx context.Context, e *env, opts *options, _ *cache.Local) (bake.Baker, error) {
			b, err := aws.New(ctx, aws.Options{Profile: opts.profile, SSHCIDR: opts.sshCIDR, AbortDir: opts.abortDir, Warn: e.warn})
			if err != nil {
				return nil, err // not a nil *aws.Baker in a non-nil interface
			}
			return b, nil
		}, jobs: AWSJobs},
		{Platform: local.Platform{}, reach: func(_ context.Context, e *env, _ *options, store *cache.Local) (bake.Baker, error) {
			b, err := local.New(store, local.Options{Warn: e.warn})
			if err != nil {
				return nil, err
			}
			return b, nil
		}},
	}
}

// platformNamed is the platform of that name.
func platformNamed(name string) (platform, error) {
	for _, p := range platforms() {
		if p.Name() == name {
			return p, nil
		}
	}
	return platform{}, usagef("unknown platform %q", name)
}

// platformNames are the names of platforms(), which --platform,
// workspace(platform = ...) and select() accept.
func platformNames() []string {
	var names []string
	for _, p := range platforms() {
		names = append(names, p.Name())
	}
	return names
}
