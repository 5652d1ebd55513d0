package engine

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/query"
	"github.com/imgraph/imgraph/rules"
)

// QueryNodes turns the loaded images into the query language's universe:
// every image, and every file an image sends as a node of its own, so
// rdeps(//..., //base:harden.sh) finds the images that use a script.
func (a *Analysis) QueryNodes() []query.Node {
	files := map[label.Label]bool{}
	var nodes []query.Node
	for _, l := range a.Graph.Order {
		im := a.Graph.Images[l]
		var deps []label.Label
		if !im.Parent.IsZero() {
			deps = append(deps, im.Parent)
		}
		for _, f := range im.Files() {
			if !slices.Contains(deps, f.Label) {
				deps = append(deps, f.Label)
			}
			files[f.Label] = true
		}
		nodes = append(nodes, query.Node{Label: l, Kind: query.KindImage, Deps: deps, Attrs: imageAttrs(im)})
	}
	for _, f := range slices.SortedFunc(maps.Keys(files), func(a, b label.Label) int {
		if a.Less(b) {
			return -1
		}
		if b.Less(a) {
			return 1
		}
		return 0
	}) {
		nodes = append(nodes, query.Node{Label: f, Kind: query.KindFile, Attrs: map[string]string{"name": f.Name}})
	}
	return nodes
}

// imageAttrs renders an image's attributes the way Bazel's attr() sees
// them: lists as [a, b], dicts as {k: v}.
func imageAttrs(im *rules.Image) map[string]string {
	attrs := map[string]string{
		"name":           im.Label.Name,
		"description":    im.Description,
		"salt":           im.Salt,
		"regions":        "[" + strings.Join(im.Regions, ", ") + "]",
		"tags":           renderDict(im.Tags),
		"share_with":     "[" + strings.Join(im.ShareWith, ", ") + "]",
		"publish_ssm":    im.PublishSSM,
		"instance_type":  im.AWS.InstanceType,
		"ssh_user":       im.AWS.SSHUser,
		"ssh_port":       strconv.Itoa(im.AWS.SSHPort),
		"volume_size_gb": strconv.Itoa(im.AWS.VolumeSizeGB),
		"encrypted":      starlarkBool(im.AWS.Encrypted),
		"kms_key":        im.AWS.KMSKey,
	}
	if !im.Parent.IsZero() {
		attrs["parent"] = im.Parent.String()
	}
	if im.Source != nil {
		attrs["source"] = im.Source.Describe()
	}
	var arts []string
	for _, a := range im.Artifacts {
		arts = append(arts, fmt.Sprintf("%s: %s", a.Name, a.URL))
	}
	attrs["artifacts"] = "{" + strings.Join(arts, ", ") + "}"
	return attrs
}

func renderDict(m map[string]string) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kv = append(kv, k+": "+m[k])
	}
	return "{" + strings.Join(kv, ", ") + "}"
}

// starlarkBool renders a bool as an IMAGES.star file writes it.
func starlarkBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
