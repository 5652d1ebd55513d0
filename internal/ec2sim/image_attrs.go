package ec2sim

// bootModes are the boot modes an AMI may have.
var bootModes = []string{"legacy-bios", "uefi", "uefi-preferred"}

// imageBoot are the attributes of an image that say how its instances
// boot: boot mode ("" for none: the instance type's default), NitroTPM
// ("v2.0" or ""), and ENA. An image made by CreateImage or CopyImage has
// its source's; RegisterImage sets them.
type imageBoot struct {
	bootMode string
	tpm      string
	noENA    bool // ENA is on unless this is set (Amazon's images have it)
}

// registerBoot reads BootMode, TpmSupport and EnaSupport of
// RegisterImage. NitroTPM needs UEFI.
func (c *call) registerBoot() (imageBoot, *apiError) {
	p := c.params
	var b imageBoot
	if v := p.get("BootMode"); v != "" {
		ok := false
		for _, m := range bootModes {
			ok = ok || m == v
		}
		if !ok {
			return b, newError("InvalidParameterValue", "Value (%s) for parameter BootMode is invalid. Valid values: legacy-bios, uefi, uefi-preferred", v)
		}
		b.bootMode = v
	}
	switch v := p.get("TpmSupport"); v {
	case "":
	case "v2.0":
		if b.bootMode != "uefi" {
			return b, newError("InvalidParameterCombination", "TpmSupport v2.0 requires BootMode uefi, not %q", b.bootMode)
		}
		b.tpm = v
	default:
		return b, invalidValue("TpmSupport", v)
	}
	// EC2 leaves ENA off an image registered without EnaSupport.
	ena, _, err := p.boolean("EnaSupport")
	if err != nil {
		return b, err
	}
	b.noENA = !ena
	return b, nil
}

// instanceBootMode is how an instance of the image boots: uefi-preferred
// boots UEFI on the types the simulator has (all Nitro); no boot mode is
// the type's default, UEFI on Graviton and legacy BIOS elsewhere.
func instanceBootMode(im *image, arch string) string {
	switch im.bootMode {
	case "uefi", "uefi-preferred":
		return "uefi"
	case "legacy-bios":
		return "legacy-bios"
	}
	if arch == "arm64" {
		return "uefi"
	}
	return "legacy-bios"
}

// modifyImds reads ImdsSupport of ModifyImageAttribute: v2.0 only, which
// cannot be undone.
func modifyImds(p params) (set bool, err *apiError) {
	v, has := p.get("ImdsSupport.Value"), p.has("ImdsSupport.Value")
	if p.get("Attribute") == "imdsSupport" && p.has("Value") {
		v, has = p.get("Value"), true
	}
	if has && v != "v2.0" {
		return false, newError("InvalidParameterValue", "Value (%s) for parameter ImdsSupport is invalid. The only supported value is v2.0, which cannot be undone", v)
	}
	return has, nil
}
