package bake

import (
	"io"
	"path"
	"slices"
	"strings"

	"github.com/imgraph/imgraph/rules"
)

// What a bake puts into an image for its own use lives under TempPrefix,
// and every platform removes it before the image is captured.
const (
	TempPrefix   = "/tmp/imgraph-"
	ArtifactsDir = "/tmp/imgraph-artifacts"
)

// ArtifactPath is where an artifact is while the provisioners run.
func ArtifactPath(name string) string { return path.Join(ArtifactsDir, name) }

// ArtifactVar is the environment variable that names ArtifactPath(name)
// to the provisioners: IMGRAPH_ARTIFACT_<NAME>.
func ArtifactVar(name string) string { return "IMGRAPH_ARTIFACT_" + strings.ToUpper(name) }

// Environment resolves what each shell provisioner of im finds in its
// environment on top of the image's own, indexed like im.Provision: its
// env, its secret_env values looked up with secret, and every artifact's
// path. It also returns the secret values (which logs must mask) and the
// names of the secret_env variables secret does not know, sorted and
// once each; a bake must not start while any is missing.
func Environment(im *rules.Image, secret func(name string) (string, bool)) (env []map[string]string, secrets []string, missing []string) {
	return environment(im.Provision, im.Artifacts, secret)
}

// TestEnvironment is Environment for im's tests, indexed like im.Tests.
// The artifacts are the bake's and are gone from the image, so their paths
// are not given.
func TestEnvironment(im *rules.Image, secret func(name string) (string, bool)) (env []map[string]string, secrets []string, missing []string) {
	return environment(im.Tests, nil, secret)
}

func environment(steps []rules.Provisioner, artifacts []rules.Artifact, secret func(name string) (string, bool)) (env []map[string]string, secrets []string, missing []string) {
	env = make([]map[string]string, len(steps))
	for i := range steps {
		p := &steps[i]
		if p.Kind != rules.ProvisionShell {
			continue
		}
		vars := make(map[string]string, len(p.Env)+len(p.SecretEnv)+len(artifacts))
		for k, v := range p.Env {
			vars[k] = v
		}
		for _, name := range p.SecretEnv {
			v, ok := "", false
			if secret != nil {
				v, ok = secret(name)
			}
			if !ok {
				if !slices.Contains(missing, name) {
					missing = append(missing, name)
				}
				continue
			}
			vars[name] = v
			secrets = append(secrets, v)
		}
		for _, a := range artifacts {
			vars[ArtifactVar(a.Name)] = ArtifactPath(a.Name)
		}
		env[i] = vars
	}
	slices.Sort(missing)
	return env, secrets, missing
}

// Streamer is a log that masks each stream of output on its own (the
// engine's logs are). A platform gives each command's stdout and stderr a
// stream of their own, through Streams.
type Streamer interface {
	Stream() io.WriteCloser
}

// Streams are the writers for one command's stdout and stderr into log,
// and what closes them when the command is over: streams of their own
// where log is a Streamer, and log itself otherwise.
func Streams(log io.Writer) (stdout, stderr io.Writer, done func()) {
	s, ok := log.(Streamer)
	if !ok {
		return log, log, func() {}
	}
	out, errs := s.Stream(), s.Stream()
	return out, errs, func() {
		out.Close()
		errs.Close()
	}
}
