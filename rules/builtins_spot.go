package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// Spot asks for the build instance on the spot market: each of
// InstanceTypes in turn (none: the image's instance_type), at most
// MaxPrice dollars an hour ("": the spot price), then on demand when no
// spot capacity is left. How the instance is paid for is not content.
type Spot struct {
	InstanceTypes []string
	MaxPrice      string
}

// InstanceTypeRE is the form of an instance type's name: family.size.
var InstanceTypeRE = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)

// spotPriceRE is a price in dollars, as EC2's MaxPrice takes it.
var spotPriceRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// spotValue is what spot() returns.
type spotValue struct {
	value
	s *Spot
}

func (v *spotValue) String() string {
	return describe("spot", "instance_types", quoteList(v.s.InstanceTypes), "max_price", quoteIf(v.s.MaxPrice))
}

// spotBuiltin is spot(instance_types = [...], max_price = "").
func spotBuiltin(l *Loader, t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		types stringList
		price optString
	)
	if err := unpack(b, args, kwargs, "instance_types?", &types, "max_price?", &price); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, typ := range types {
		switch {
		case !InstanceTypeRE.MatchString(typ):
			return nil, fmt.Errorf("spot: instance type %q is not an instance type such as \"t3.micro\"", typ)
		case seen[typ]:
			return nil, fmt.Errorf("spot: instance type %q is named twice", typ)
		}
		seen[typ] = true
	}
	if price.s != "" {
		if v, err := strconv.ParseFloat(price.s, 64); !spotPriceRE.MatchString(price.s) || err != nil || v <= 0.001 {
			return nil, fmt.Errorf("spot: max_price %q is not a price in dollars an hour above 0.001, such as \"0.05\"", price.s)
		}
	}
	return &spotValue{value{"spot"}, &Spot{InstanceTypes: types, MaxPrice: price.s}}, nil
}

// spotArg is image(spot = spot(...)).
type spotArg struct{ s *Spot }

func (a *spotArg) Unpack(v starlark.Value) error {
	switch v := v.(type) {
	case starlark.NoneType:
		return nil
	case *spotValue:
		a.s = v.s
		return nil
	}
	return fmt.Errorf("got %s, want spot(instance_types = [...], max_price = \"...\")", v.Type())
}

// checkSpotArch refuses spot instance types of another architecture
// than the source's, when the source says it.
func (p *imageProblems) checkSpotArch(im *Image, arch string) {
	if im.AWS.Spot == nil {
		return
	}
	var wrong []string
	for _, typ := range im.AWS.Spot.InstanceTypes {
		if got := InstanceTypeArch(typ); got != "" && got != arch {
			wrong = append(wrong, typ)
		}
	}
	if len(wrong) > 0 {
		p.attr("spot", "instance types of another architecture than the source's (%s): %s", arch, strings.Join(wrong, ", "))
	}
}
