package rules

import "slices"

// The AMI attributes' values, as EC2 spells them.
var (
	BootModes = []string{"legacy-bios", "uefi", "uefi-preferred"}
)

// IMDSv2 is imds_support's one value, and its default: instances launched
// from the image require IMDSv2.
const IMDSv2 = "v2.0"

// checkAMIAttrs checks and sets the attributes of the AMI itself:
// boot_mode, tpm_support (NitroTPM, which needs UEFI), ena_support and
// imds_support ("" lets instances of the image use IMDSv1).
func (p *imageProblems) checkAMIAttrs(im *Image, a *awsImageArgs) {
	if a.bootMode.set {
		if !slices.Contains(BootModes, a.bootMode.s) {
			p.attr("boot_mode", "%q is not a boot mode: legacy-bios, uefi or uefi-preferred", a.bootMode.s)
		} else {
			im.AWS.BootMode = a.bootMode.s
		}
	}
	if a.tpmSupport.set {
		switch {
		case a.tpmSupport.s != "v2.0":
			p.attr("tpm_support", "%q is not a TPM version: v2.0 is the one NitroTPM has", a.tpmSupport.s)
		case a.bootMode.s != "uefi":
			p.attr("tpm_support", "NitroTPM needs boot_mode = \"uefi\"")
		default:
			im.AWS.TPMSupport = a.tpmSupport.s
		}
	}
	if a.enaSupport.set {
		ena := a.enaSupport.b
		im.AWS.ENASupport = &ena
	}
	if a.imdsSupport.set {
		switch a.imdsSupport.s {
		case IMDSv2:
		case "":
			im.AWS.IMDSv1Allowed = true
		default:
			p.attr("imds_support", "%q is not an IMDS version: \"v2.0\" (the default: instances must use IMDSv2), or \"\" to let them use IMDSv1", a.imdsSupport.s)
		}
	}
}
