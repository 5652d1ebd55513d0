package rules

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"go.starlark.net/starlark"

	"github.com/imgraph/imgraph/label"
)

// imageBuiltin is image(...): it declares one image of the package being
// loaded. Problems an image has on its own (a missing file, a bad region)
// are collected, so one run reports them all.
func imageBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	a, err := unpackImageArgs(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	st := stateOf(t).build
	site := callSiteOf(t)
	pos := site.pos
	if st == nil {
		return nil, l.at(pos, "image() may only be called while loading an IMAGES.star (a macro may call it when an IMAGES.star calls the macro)")
	}
	if msg := imageNameProblem(a.name.s); msg != "" {
		return nil, l.at(pos, "image: name %q: %s", a.name.s, msg)
	}
	if !l.claimImageName(st, a.name.s, pos) {
		return starlark.None, nil
	}

	im := newImage(st.pkg, pos, l.ws.HomeRegion, a)
	// The order of the checks is the order of the errors of one call
	// inside a macro, where they all share the macro call's position.
	p := &imageProblems{l: l, st: st, name: a.name.s, site: site}
	p.resolveParentOrSource(im, a)
	p.checkFiles(im)
	p.checkDistribution(a)
	p.checkVolumes(im, &a.aws)
	p.checkAMIAttrs(im, &a.aws)
	p.checkAWSAttrs(im, &a.aws)
	p.checkBuildInstance(t, im, &a.aws)
	st.images = append(st.images, im)
	return starlark.None, nil
}

// imageArgs are the arguments of one image(...) call.
type imageArgs struct {
	name, parent, salt, description optString
	source                          starlark.Value
	provision, tests                provisionList
	artifacts                       artifactDict
	regions                         stringList
	tags                            stringDict
	aws                             awsImageArgs
}

func unpackImageArgs(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (*imageArgs, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("image: takes only keyword arguments (name = ..., ...)")
	}
	a := &imageArgs{source: starlark.None}
	params := []any{
		"name", &a.name, "parent?", &a.parent, "source?", &a.source,
		"provision?", &a.provision, "tests?", &a.tests, "artifacts?", &a.artifacts, "salt?", &a.salt,
		"regions?", &a.regions, "tags?", &a.tags, "description?", &a.description,
	}
	if err := unpack(b, args, kwargs, append(params, a.aws.params()...)...); err != nil {
		return nil, err
	}
	return a, nil
}

// imageNameProblem says what is wrong with an image's name, or "".
func imageNameProblem(name string) string {
	if msg := label.CheckName(name); msg != "" {
		return msg
	}
	if strings.Contains(name, "/") {
		return "image names may not contain '/'"
	}
	return ""
}

// claimImageName records that the package declares name at pos. A name
// declared twice is reported, and the second image is dropped.
func (l *Loader) claimImageName(st *pkgState, name string, pos Pos) bool {
	if prev, dup := st.names[name]; dup {
		e := l.at(pos, "image %q is declared twice in //%s", name, st.pkg)
		e.Hint = fmt.Sprintf("the first is at %s; every target of a package needs its own name", prev)
		st.errs = append(st.errs, e)
		return false
	}
	st.names[name] = pos
	return true
}

// newImage is the image the arguments declare, with every default applied.
// Its parent or source is left to resolveParentOrSource, which may fail.
func newImage(pkg string, pos Pos, homeRegion string, a *imageArgs) *Image {
	return &Image{
		Label:       label.Label{Pkg: pkg, Name: a.name.s},
		Pos:         pos,
		Provision:   a.provision,
		Tests:       a.tests,
		Artifacts:   a.artifacts,
		Salt:        a.salt.s,
		Regions:     imageRegions(homeRegion, a.regions),
		Tags:        a.tags,
		Description: a.description.s,
		ShareWith:   a.aws.sortedShareWith(),
		PublishSSM:  a.aws.publishSSM.s,

		LaunchTemplates: a.aws.sortedLaunchTemplates(),
		DeprecateAfter:  a.aws.deprecateAfterOf(),

		AWS: a.aws.attrs(),
	}
}

// imageRegions are the regions an image must exist in: the home region
// first, then the others sorted, each once. Names that are not regions are
// left out; checkDistribution reports them.
func imageRegions(home string, regions []string) []string {
	out := []string{home}
	for _, r := range regions {
		if msg, _ := checkRegion(r); msg == "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out[1:])
	return out
}

// imageProblems collects what is wrong with one image, so that all of it
// is reported together.
type imageProblems struct {
	l    *Loader
	st   *pkgState
	name string   // the image's
	site callSite // the image(...) call's
}

// add reports a problem at the image(...) call.
func (p *imageProblems) add(format string, args ...any) {
	p.st.errs = append(p.st.errs, p.l.atSite(p.site, "image %q: "+format, append([]any{p.name}, args...)...))
}

// attr reports a problem with the attribute name, where it is written.
func (p *imageProblems) attr(name, format string, args ...any) {
	p.st.errs = append(p.st.errs, p.l.atArg(p.site, name, "image %q: %s: "+format, append([]any{p.name, name}, args...)...))
}

// resolveParentOrSource sets what the image starts from: exactly one of
// parent and source.
func (p *imageProblems) resolveParentOrSource(im *Image, a *imageArgs) {
	switch {
	case a.parent.set && a.source != starlark.None:
		p.add("give parent or source, not both")
	case !a.parent.set && a.source == starlark.None:
		p.add("give parent = \"//pkg:image\" or source = ami(...) / ami_filter(...) / ssm_parameter(...) / rootfs(...)")
	case a.parent.set:
		parent, err := label.ParseRelative(a.parent.s, p.st.pkg)
		if err != nil {
			p.attr("parent", "%v", err)
		}
		im.Parent = parent
	default:
		var sv sourceValue
		if err := sv.Unpack(a.source); err != nil {
			p.attr("source", "%v", err)
		} else {
			im.Source = sv.src
		}
	}
}

// checkFiles reports every script, copied file and rootfs of the image
// that does not exist or is not of a kind it can be, each at the call
// that names it: a script is one file; a copy sends a file or a tree; a
// rootfs is a tree or a tarball.
func (p *imageProblems) checkFiles(im *Image) {
	for _, list := range [][]Provisioner{im.Provision, im.Tests} {
		for i := range list {
			pr := &list[i]
			if pr.Script != nil {
				p.checkFile(pr.Pos, "script", pr.Script, false)
			}
			if pr.Src != nil {
				p.checkFile(pr.Pos, "copy src", pr.Src, true)
			}
		}
	}
	if im.Source != nil && im.Source.File != nil {
		p.checkFile(im.Source.Pos, "rootfs", im.Source.File, true)
	}
}

func (p *imageProblems) checkFile(pos Pos, what string, f *File, dirOK bool) {
	typ, exists := p.l.fileType(f.Path)
	var e *Error
	switch {
	case !exists:
		e = p.l.at(pos, "image %q: %s %s does not exist", p.name, what, f.Label)
		e.Hint = fmt.Sprintf("looked for %s", relToRoot(p.l, f.Path))
	case typ.IsDir() && !dirOK:
		e = p.l.at(pos, "image %q: %s %s is a directory, not a file", p.name, what, f.Label)
		e.Hint = "a script is one file; to send a directory, copy(src = ..., dest = ...) it and run a script from it"
	case !typ.IsDir() && !typ.IsRegular():
		e = p.l.at(pos, "image %q: %s %s is a %s, not a file", p.name, what, f.Label, kindOf(typ))
		e.Hint = "imgraph sends regular files and directories only"
	default:
		return
	}
	p.st.errs = append(p.st.errs, e)
}

// checkDistribution checks the attributes every platform distributes the
// image by: regions and tags.
func (p *imageProblems) checkDistribution(a *imageArgs) {
	for _, r := range a.regions {
		if msg, hint := checkRegion(r); msg != "" {
			p.attr("regions", "%s", msg)
			p.st.errs[len(p.st.errs)-1].Hint = hint
		}
	}
	for _, k := range slices.Sorted(maps.Keys(a.tags)) {
		switch {
		case k == "":
			p.attr("tags", "a tag needs a key: \"\" is none")
		case strings.HasPrefix(k, "imgraph:"):
			p.attr("tags", "%q is reserved: imgraph writes the imgraph: tags itself", k)
		}
	}
}

func relToRoot(l *Loader, p string) string {
	if rel, ok := strings.CutPrefix(p, l.ws.Root+string(os.PathSeparator)); ok {
		return rel
	}
	return p
}
