package engine

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// KeyConfig is what keys depend on besides the images.
type KeyConfig struct {
	Platform string
	Region   string // the home region, where floating sources were resolved
	Lock     *Lock
}

// Keys computes the key of every image in labels, which must hold each
// image's parent before the image (a Closure does). Files are hashed in
// parallel, each once.
func Keys(ctx context.Context, g *Graph, labels []label.Label, cfg KeyConfig) (map[label.Label]Key, error) {
	var errs rules.ErrorList
	for _, l := range labels {
		im := g.Images[l]
		if im.Source != nil && im.Source.Platform() != cfg.Platform {
			errs = append(errs, &rules.Error{Pos: im.Source.Pos,
				Msg:  fmt.Sprintf("image %s: source %s cannot be baked on the %s platform", l, im.Source.Describe(), cfg.Platform),
				Hint: fmt.Sprintf(`give it a source for each platform: source = select({"%s": ..., "%s": ...})`, rules.PlatformAWS, rules.PlatformLocal)})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	digests, err := digestFiles(ctx, g, labels)
	if err != nil {
		return nil, err
	}
	// An image's key needs its parent's: the images of one generation
	// are keyed in parallel once the generation before is done.
	keys := make(map[label.Label]Key, len(labels))
	for _, gen := range generations(g, labels) {
		out := make([]Key, len(gen))
		errs := make([]error, len(gen))
		err := forEach(ctx, len(gen), func(i int) error {
			var parts []Part
			if parts, errs[i] = imageParts(g.Images[gen[i]], keys, digests, cfg); errs[i] == nil {
				out[i] = newKey(parts)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for i, l := range gen {
			if errs[i] != nil {
				return nil, errs[i] // the first in graph order, whichever failed first
			}
			keys[l] = out[i]
		}
	}
	return keys, nil
}

// generations splits labels, parents first, by distance from their root:
// the roots, then their children, and so on.
func generations(g *Graph, labels []label.Label) [][]label.Label {
	depth := make(map[label.Label]int, len(labels))
	var gens [][]label.Label
	for _, l := range labels {
		d := 0
		if p := g.Images[l].Parent; !p.IsZero() {
			d = depth[p] + 1
		}
		depth[l] = d
		for d >= len(gens) {
			gens = append(gens, nil)
		}
		gens[d] = append(gens[d], l)
	}
	return gens
}

type digestKey struct {
	path string
	full bool
}

// digestFiles hashes every file the images send, each once, in parallel.
func digestFiles(ctx context.Context, g *Graph, labels []label.Label) (map[digestKey]fileDigest, error) {
	type job struct {
		key digestKey
		pos rules.Pos
		lbl label.Label
		img label.Label
	}
	seen := map[digestKey]bool{}
	var jobs []job
	for _, l := range labels {
		im := g.Images[l]
		for _, p := range im.Provision {
			for _, f := range []*rules.File{p.Script, p.Src} {
				if f != nil && !seen[digestKey{f.Path, false}] {
					seen[digestKey{f.Path, false}] = true
					jobs = append(jobs, job{digestKey{f.Path, false}, p.Pos, f.Label, l})
				}
			}
		}
		if im.Source != nil && im.Source.File != nil {
			k := digestKey{im.Source.File.Path, true}
			if !seen[k] {
				seen[k] = true
				jobs = append(jobs, job{k, im.Source.Pos, im.Source.File.Label, l})
			}
		}
	}
	out := make([]fileDigest, len(jobs))
	errs := make([]error, len(jobs))
	err := forEach(ctx, len(jobs), func(i int) error {
		out[i], errs[i] = hashPath(jobs[i].key.path, jobs[i].key.full)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var list rules.ErrorList
	m := make(map[digestKey]fileDigest, len(jobs))
	for i, j := range jobs {
		if errs[i] != nil {
			list = append(list, &rules.Error{Pos: j.pos, Msg: fmt.Sprintf("image %s: cannot read %s: %v", j.img, j.lbl, errs[i])})
			continue
		}
		m[j.key] = out[i]
	}
	if len(list) > 0 {
		return nil, list
	}
	return m, nil
}

// imageParts lists everything that decides an image's content.
func imageParts(im *rules.Image, keys map[label.Label]Key, digests map[digestKey]fileDigest, cfg KeyConfig) ([]Part, error) {
	parts := []Part{
		{Name: "schema", Value: KeySchema},
		{Name: "platform", Value: cfg.Platform},
	}
	if im.Source == nil {
		pk, ok := keys[im.Parent]
		if !ok {
			return nil, fmt.Errorf("internal: key of %s computed before its parent %s", im.Label, im.Parent)
		}
		parts = append(parts, Part{Name: "parent", Digest: pk.Hex, Note: im.Parent.String()})
	} else {
		sp, err := sourcePart(im, digests, cfg)
		if err != nil {
			return nil, err
		}
		parts = append(parts, sp)
	}
	if len(im.Provision) > 0 {
		prov := Part{Name: "provision"}
		for i, p := range im.Provision {
			prov.Parts = append(prov.Parts, provisionerPart(i, p, digests))
		}
		parts = append(parts, prov)
	}
	if len(im.Artifacts) > 0 {
		arts := Part{Name: "artifacts"}
		for _, a := range im.Artifacts {
			arts.Parts = append(arts.Parts, Part{Name: a.Name, Digest: a.SHA256, Note: a.URL})
		}
		parts = append(parts, arts)
	}
	if im.Salt != "" {
		parts = append(parts, Part{Name: "salt", Value: im.Salt})
	}
	if cfg.Platform == rules.PlatformAWS {
		a := im.AWS
		parts = append(parts, Part{Name: "aws", Parts: []Part{
			{Name: "instance_type", Value: a.InstanceType},
			{Name: "ssh_user", Value: a.SSHUser},
			{Name: "volume_size_gb", Value: strconv.Itoa(a.VolumeSizeGB)},
			{Name: "encrypted", Value: strconv.FormatBool(a.Encrypted)},
			{Name: "kms_key", Value: a.KMSKey},
		}})
	}
	return parts, nil
}

func sourcePart(im *rules.Image, digests map[digestKey]fileDigest, cfg KeyConfig) (Part, error) {
	s := im.Source
	switch s.Kind {
	case rules.SourceAMI:
		return Part{Name: "source", Value: s.ID}, nil
	case rules.SourceAMIFilter, rules.SourceSSM:
		id, ok := cfg.Lock.Find(s.Describe(), cfg.Region)
		if !ok {
			return Part{}, &StaleLockError{Missing: []LockedSource{{Source: s.Describe(), Region: cfg.Region, UsedBy: []string{im.Label.String()}}}}
		}
		return Part{Name: "source", Value: id.ID, Note: s.Describe()}, nil
	default:
		if s.File != nil {
			d := digests[digestKey{s.File.Path, true}]
			return Part{Name: "source", Value: "rootfs", Digest: d.Digest, Note: s.File.Label.String()}, nil
		}
		return Part{Name: "source", Value: "rootfs", Digest: s.SHA256, Note: s.URL}, nil
	}
}

func provisionerPart(i int, p rules.Provisioner, digests map[digestKey]fileDigest) Part {
	part := Part{Name: fmt.Sprintf("[%d] %s", i, p.Kind)}
	add := func(q Part) { part.Parts = append(part.Parts, q) }
	file := func(name string, f *rules.File) Part {
		d := digests[digestKey{f.Path, false}]
		return Part{Name: name, Value: d.Mode, Digest: d.Digest, Note: f.Label.String()}
	}
	switch p.Kind {
	case rules.ProvisionShell:
		if p.Script != nil {
			add(file("script", p.Script))
		} else {
			add(Part{Name: "inline", Value: strings.Join(quoteAll(p.Inline), " ")})
		}
		if len(p.Env) > 0 {
			env := Part{Name: "env"}
			names := make([]string, 0, len(p.Env))
			for k := range p.Env {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				env.Parts = append(env.Parts, Part{Name: k, Value: p.Env[k]})
			}
			add(env)
		}
		if len(p.SecretEnv) > 0 {
			// The names decide what the script sees; the values are secret
			// and never hashed.
			add(Part{Name: "secret_env", Value: strings.Join(p.SecretEnv, " ")})
		}
	case rules.ProvisionCopy:
		add(file("src", p.Src))
		add(Part{Name: "dest", Value: p.Dest})
		if p.Mode != "" {
			add(Part{Name: "mode", Value: p.Mode})
		}
	}
	return part
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.Quote(x)
	}
	return out
}
