package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/rules"
)

// provision runs provisioner i in its own sandbox.
func (r *bakeRun) provision(ctx context.Context, i int) error {
	p := &r.job.Image.Provision[i]
	r.phase(fmt.Sprintf("%s [%d] %s", bake.PhaseProvision, i, p.Kind))
	return r.b.runStep(ctx, r.tree, bake.DescribeProvisioner(i, p), p, envAt(r.job.Env, i), r.log)
}

// runStep runs one provisioner (or test), described as desc, in its own
// sandbox chrooted into t, with env on top of a clean base.
func (b *Baker) runStep(ctx context.Context, t tree, desc string, p *rules.Provisioner, env map[string]string, log io.Writer) error {
	fmt.Fprintf(log, "==> %s\n", desc)
	step := t.step()
	step.Mounts = true
	switch p.Kind {
	case rules.ProvisionShell:
		step.Env = stepEnv(env)
		if p.Script != nil {
			// The script runs from a private directory; capture removes it.
			dest := bake.TempPrefix + randomHex() + "/" + filepath.Base(p.Script.Path)
			step.Place = []sandbox.Placement{{Src: p.Script.Path, Dest: dest, Mode: 0o700, DirMode: 0o700}}
			step.Argv = []string{"/bin/sh", "-e", dest}
		} else {
			// -e: stop at the first failing line, as Packer's inline does.
			step.Argv = []string{"/bin/sh", "-e", "-c", strings.Join(p.Inline, "\n")}
		}
	case rules.ProvisionCopy:
		mode := int64(-1)
		if p.Mode != "" {
			m, err := strconv.ParseUint(p.Mode, 8, 32)
			if err != nil || m > 0o7777 {
				return &BadInputError{Msg: fmt.Sprintf("%s: mode %q is not an octal mode", desc, p.Mode)}
			}
			mode = int64(m)
		}
		step.Place = []sandbox.Placement{{Src: p.Src.Path, Dest: p.Dest, Mode: mode, DirMode: 0o755, IntoDir: true}}
	default:
		return fmt.Errorf("%s: the local platform cannot run a %q provisioner", desc, p.Kind)
	}
	err := b.run(ctx, step, log)
	var exit *sandbox.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", desc, ctx.Err())
	case errors.As(err, &exit):
		return fmt.Errorf("%s %w", desc, err)
	}
	return fmt.Errorf("%s: %w", desc, err)
}

// envAt is entry i of a job's environments, nil when there is none.
func envAt(env []map[string]string, i int) map[string]string {
	if i < len(env) {
		return env[i]
	}
	return nil
}

// stepEnv is a shell step's whole environment: a clean base, then what
// the job gives it (its env, its secrets, the artifacts' paths).
func stepEnv(vars map[string]string) []string {
	all := map[string]string{"PATH": stepPath, "HOME": "/root"}
	maps.Copy(all, vars)
	env := make([]string, 0, len(all))
	for k, v := range all {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}
