package local

import (
	"context"
	"errors"
	"fmt"
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
	desc := bake.DescribeProvisioner(i, p)
	r.phase(fmt.Sprintf("%s [%d] %s", bake.PhaseProvision, i, p.Kind))
	fmt.Fprintf(r.log, "==> %s\n", desc)
	step := &sandbox.Step{Root: r.tmp, Mounts: true}
	switch p.Kind {
	case rules.ProvisionShell:
		step.Env = r.env(i)
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
	err := r.b.run(ctx, step, r.log)
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

// env is shell provisioner i's whole environment: a clean base, then
// what the job gives it (its env, its secrets, the artifacts' paths).
func (r *bakeRun) env(i int) []string {
	vars := map[string]string{"PATH": stepPath, "HOME": "/root"}
	if i < len(r.job.Env) {
		maps.Copy(vars, r.job.Env[i])
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}
