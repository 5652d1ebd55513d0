package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/parallel"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

// KeyConfig is what keys depend on besides the images.
type KeyConfig struct {
	Platform bake.Platform
	// Sources are the image ids the root images start from (see
	// SourceIDs); a rootfs source is keyed by its content instead.
	Sources map[label.Label]string
	// Digests remembers what unchanged files hold (nil: every file is
	// read).
	Digests DigestCache
}

// Keys computes the key of every image in labels, which must hold each
// image's parent before the image (a Closure does). Files are hashed in
// parallel, each once.
func Keys(ctx context.Context, g *Graph, labels []label.Label, cfg KeyConfig) (map[label.Label]Key, error) {
	if err := checkSources(g, labels, cfg.Platform); err != nil {
		return nil, err
	}
	dc := cfg.Digests
	if dc == nil {
		dc = noDigests{}
	}
	digests, err := digestFiles(ctx, g, labels, dc)
	if err != nil {
		return nil, err
	}
	// An image's key needs its parent's: the images of one generation
	// are keyed in parallel once the generation before is done.
	keys := make(map[label.Label]Key, len(labels))
	for _, gen := range generations(g, labels) {
		out := make([]Key, len(gen))
		errs := make([]error, len(gen))
		err := parallel.ForEach(ctx, parallel.CPU(), len(gen), func(i int) error {
			im := g.Images[gen[i]]
			var parts []bake.KeyPart
			if parts, errs[i] = imageParts(im, keys, digests, cfg); errs[i] == nil {
				out[i] = newKey(parts)
				out[i].Tests, out[i].TestParts = testsKey(im, digests)
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

// checkSources reports every root image whose source the platform does
// not bake from.
func checkSources(g *Graph, labels []label.Label, platform bake.Platform) error {
	var errs rules.ErrorList
	for _, l := range labels {
		im := g.Images[l]
		if im.Source != nil && !platform.Accepts(im.Source) {
			var branches []string
			for _, p := range rules.Platforms() {
				branches = append(branches, strconv.Quote(p)+": ...")
			}
			errs = append(errs, &rules.Error{Pos: im.Source.Pos,
				Msg:  fmt.Sprintf("image %s: source %s cannot be baked on the %s platform", l, im.Source.Describe(), platform.Name()),
				Hint: fmt.Sprintf("give it a source for each platform: source = select({%s})", strings.Join(branches, ", "))})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// SourceIDs is the image id each root image of labels starts from, where
// its source names one: an ami's own id, or the id lock records for a
// floating source in region. A floating source the lock lacks is a
// *StaleLockError naming every one.
func SourceIDs(g *Graph, labels []label.Label, lock *Lock, region string) (map[label.Label]string, error) {
	ids := map[label.Label]string{}
	stale := &StaleLockError{}
	for _, l := range labels {
		s := g.Images[l].Source
		switch {
		case s == nil:
		case s.Kind == rules.SourceAMI:
			ids[l] = s.ID
		case s.Floating():
			locked, ok := lock.Find(s.Describe(), region)
			if !ok {
				stale.Missing = append(stale.Missing, LockedSource{Source: s.Describe(), Region: region, UsedBy: []string{l.String()}})
				continue
			}
			ids[l] = locked.ID
		}
	}
	if len(stale.Missing) > 0 {
		return nil, stale
	}
	return ids, nil
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
func digestFiles(ctx context.Context, g *Graph, labels []label.Label, dc DigestCache) (map[digestKey]fileDigest, error) {
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
		for _, p := range slices.Concat(im.Provision, im.Tests) {
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
	err := parallel.ForEach(ctx, parallel.CPU(), len(jobs), func(i int) error {
		out[i], errs[i] = hashPath(jobs[i].key.path, jobs[i].key.full, dc)
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
func imageParts(im *rules.Image, keys map[label.Label]Key, digests map[digestKey]fileDigest, cfg KeyConfig) ([]bake.KeyPart, error) {
	parts := []bake.KeyPart{
		{Name: "schema", Value: KeySchema},
		{Name: "platform", Value: cfg.Platform.Name()},
	}
	if im.Source == nil {
		pk, ok := keys[im.Parent]
		if !ok {
			return nil, fmt.Errorf("internal: key of %s computed before its parent %s", im.Label, im.Parent)
		}
		parts = append(parts, bake.KeyPart{Name: "parent", Digest: pk.Hex, Note: im.Parent.String()})
	} else {
		sp, err := sourcePart(im, digests, cfg.Sources)
		if err != nil {
			return nil, err
		}
		parts = append(parts, sp)
	}
	if len(im.Provision) > 0 {
		prov := bake.KeyPart{Name: "provision"}
		for i, p := range im.Provision {
			prov.Parts = append(prov.Parts, provisionerPart(i, p, digests))
		}
		parts = append(parts, prov)
	}
	if len(im.Artifacts) > 0 {
		arts := bake.KeyPart{Name: "artifacts"}
		for _, a := range im.Artifacts {
			arts.Parts = append(arts.Parts, bake.KeyPart{Name: a.Name, Digest: a.SHA256, Note: a.URL})
		}
		parts = append(parts, arts)
	}
	if im.Salt != "" {
		parts = append(parts, bake.KeyPart{Name: "salt", Value: im.Salt})
	}
	if own := cfg.Platform.KeyParts(im); len(own) > 0 {
		parts = append(parts, bake.KeyPart{Name: cfg.Platform.Name(), Parts: own})
	}
	return parts, nil
}

// testsKey is the digest of an image's tests, and the parts it is
// computed from; "" when the image has none. It is kept apart from the
// image's key: tests decide whether an image is kept, not what it holds,
// so a changed test re-tests the image and never rebakes it or its
// children.
func testsKey(im *rules.Image, digests map[digestKey]fileDigest) (string, []bake.KeyPart) {
	if len(im.Tests) == 0 {
		return "", nil
	}
	parts := []bake.KeyPart{{Name: "schema", Value: KeySchema}}
	for i, p := range im.Tests {
		parts = append(parts, provisionerPart(i, p, digests))
	}
	return newKey(parts).Hex, parts
}

func sourcePart(im *rules.Image, digests map[digestKey]fileDigest, sources map[label.Label]string) (bake.KeyPart, error) {
	s := im.Source
	switch s.Kind {
	case rules.SourceAMI:
		return bake.KeyPart{Name: "source", Value: s.ID}, nil
	case rules.SourceAMIFilter, rules.SourceSSM:
		id, ok := sources[im.Label]
		if !ok {
			return bake.KeyPart{}, fmt.Errorf("internal: the source of %s was not resolved before its key", im.Label)
		}
		return bake.KeyPart{Name: "source", Value: id, Note: s.Describe()}, nil
	default:
		if s.File != nil {
			d := digests[digestKey{s.File.Path, true}]
			return bake.KeyPart{Name: "source", Value: "rootfs", Digest: d.Digest, Note: s.File.Label.String()}, nil
		}
		return bake.KeyPart{Name: "source", Value: "rootfs", Digest: s.SHA256, Note: s.URL}, nil
	}
}

func provisionerPart(i int, p rules.Provisioner, digests map[digestKey]fileDigest) bake.KeyPart {
	part := bake.KeyPart{Name: fmt.Sprintf("[%d] %s", i, p.Kind)}
	add := func(q bake.KeyPart) { part.Parts = append(part.Parts, q) }
	file := func(name string, f *rules.File) bake.KeyPart {
		d := digests[digestKey{f.Path, false}]
		return bake.KeyPart{Name: name, Value: d.Mode, Digest: d.Digest, Note: f.Label.String()}
	}
	switch p.Kind {
	case rules.ProvisionShell:
		if p.Script != nil {
			add(file("script", p.Script))
		} else {
			add(bake.KeyPart{Name: "inline", Value: strings.Join(quoteAll(p.Inline), " ")})
		}
		if len(p.Env) > 0 {
			env := bake.KeyPart{Name: "env"}
			names := make([]string, 0, len(p.Env))
			for k := range p.Env {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				env.Parts = append(env.Parts, bake.KeyPart{Name: k, Value: p.Env[k]})
			}
			add(env)
		}
		if len(p.SecretEnv) > 0 {
			// The names decide what the script sees; the values are secret
			// and never hashed.
			add(bake.KeyPart{Name: "secret_env", Value: strings.Join(p.SecretEnv, " ")})
		}
	case rules.ProvisionCopy:
		add(file("src", p.Src))
		add(bake.KeyPart{Name: "dest", Value: p.Dest})
		if p.Mode != "" {
			add(bake.KeyPart{Name: "mode", Value: p.Mode})
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
