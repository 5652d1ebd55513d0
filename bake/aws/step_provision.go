package aws

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/rules"
)

// stepProvision runs each provisioner in order as root, as the local
// platform does in its chroot: shell scripts and inline commands with
// their env, secrets and artifact paths; copies to their destination.
// Then it removes every /tmp/imgraph-* path, so the image holds nothing
// of the bake.
type stepProvision struct{}

func (*stepProvision) Name() string { return bake.PhaseProvision }

func (*stepProvision) Run(ctx context.Context, s *bakeState) error {
	describe, phase := bake.DescribeProvisioner, bake.PhaseProvision
	if s.testing {
		describe, phase = bake.DescribeTest, bake.PhaseTest
	}
	for i := range s.job.Image.Provision {
		p := &s.job.Image.Provision[i]
		desc := describe(i, p)
		s.phase(fmt.Sprintf("%s [%d] %s", phase, i, p.Kind))
		fmt.Fprintf(s.log, "==> %s\n", desc)
		var err error
		switch p.Kind {
		case rules.ProvisionShell:
			err = s.runShell(ctx, i, p)
		case rules.ProvisionCopy:
			err = s.runCopy(ctx, p)
		default:
			err = fmt.Errorf("the aws platform cannot run a %q provisioner", p.Kind)
		}
		if err != nil {
			// A test that ran and exited badly failed; one that could not
			// run is an error of the test's.
			var exit *ssh.ExitError
			failed := s.testing && ctx.Err() == nil && errors.As(err, &exit)
			if err = provisionError(ctx, desc, err); failed {
				err = &bake.TestFailure{Test: desc, Err: err}
			}
			return err
		}
	}
	err := s.run(ctx, s.sudo+"/bin/sh -c "+shellQuote("rm -rf "+bake.TempPrefix+"*"), nil)
	if err != nil {
		return fmt.Errorf("removing %s* from the instance: %w", bake.TempPrefix, err)
	}
	return nil
}

// The instance goes with stepRunInstance's cleanup.
func (*stepProvision) Cleanup(ctx context.Context, s *bakeState) error { return nil }

// provisionError names the provisioner and how it failed.
func provisionError(ctx context.Context, desc string, err error) error {
	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", desc, ctx.Err())
	case errors.As(err, &exit) && exit.Signal() != "":
		return fmt.Errorf("%s was killed by signal %s", desc, exit.Signal())
	case errors.As(err, &exit):
		return fmt.Errorf("%s exited with status %d", desc, exit.ExitStatus())
	case errors.As(err, &missing):
		return fmt.Errorf("%s: the connection closed before it exited (did it reboot the instance?)", desc)
	}
	return fmt.Errorf("%s: %w", desc, err)
}

// runShell runs a script or inline commands with /bin/sh -e. The program
// goes on standard input, never on a command line: it holds the secrets.
func (s *bakeState) runShell(ctx context.Context, i int, p *rules.Provisioner) error {
	var vars map[string]string
	if i < len(s.job.Env) {
		vars = s.job.Env[i]
	}
	program := exports(vars)
	if p.Script != nil {
		dest, ok := s.scripts[i]
		if !ok {
			return fmt.Errorf("script %s was not uploaded", p.Script.Label)
		}
		program += "exec /bin/sh -e " + shellQuote(dest) + "\n"
	} else {
		// -e: stop at the first failing line, as Packer's inline does.
		program += "exec /bin/sh -e -c " + shellQuote(strings.Join(p.Inline, "\n")) + "\n"
	}
	return s.run(ctx, s.sudo+runProgram, strings.NewReader(program))
}

// runCopy sends a file (or a directory's tree) to p.Dest as root: a file
// whose Dest is an existing directory goes inside it, as with cp; parent
// directories are made; the mode is p.Mode or the source's.
func (s *bakeState) runCopy(ctx context.Context, p *rules.Provisioner) error {
	mode := int64(-1)
	if p.Mode != "" {
		m, err := strconv.ParseUint(p.Mode, 8, 32)
		if err != nil || m > 0o7777 {
			return fmt.Errorf("mode %q is not an octal mode", p.Mode)
		}
		mode = int64(m)
	}
	info, err := os.Stat(p.Src.Path)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return s.copyFile(ctx, p.Src.Path, p.Dest, info, mode, true)
	}
	return filepath.WalkDir(p.Src.Path, func(local string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(p.Src.Path, local)
		if err != nil {
			return err
		}
		dest := path.Join(p.Dest, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			script := fmt.Sprintf("umask 022 && mkdir -p %s && chmod %04o %s", shellQuote(dest), uint32(info.Mode().Perm()), shellQuote(dest))
			return s.run(ctx, s.sudo+"/bin/sh -c "+shellQuote(script), nil)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(local)
			if err != nil {
				return err
			}
			script := "ln -sfn " + shellQuote(target) + " " + shellQuote(dest)
			return s.run(ctx, s.sudo+"/bin/sh -c "+shellQuote(script), nil)
		case d.Type().IsRegular():
			return s.copyFile(ctx, local, dest, info, mode, false)
		}
		return fmt.Errorf("%s is not a regular file, a directory or a symbolic link", local)
	})
}

// copyFile streams one file to dest; into: when dest is a directory, the
// file goes inside it.
func (s *bakeState) copyFile(ctx context.Context, src, dest string, info fs.FileInfo, mode int64, into bool) error {
	if mode < 0 {
		mode = int64(info.Mode().Perm())
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	var script strings.Builder
	fmt.Fprintf(&script, "umask 022 && d=%s && ", shellQuote(dest))
	if into {
		fmt.Fprintf(&script, `if [ -d "$d" ]; then d="$d"/%s; fi && `, shellQuote(filepath.Base(src)))
	}
	// Written beside and renamed, so a file in use is replaced whole.
	fmt.Fprintf(&script, `mkdir -p "$(dirname "$d")" && t="$d.imgraph-$$" && cat > "$t" && chmod %04o "$t" && mv -f "$t" "$d"`, mode)
	return s.run(ctx, s.sudo+"/bin/sh -c "+shellQuote(script.String()), f)
}
