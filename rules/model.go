package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/imgraph/imgraph/label"
)

// Platforms imgraph knows how to bake for: the names workspace(),
// --platform and select() accept.
const (
	PlatformAWS   = "aws"
	PlatformLocal = "local"
)

// Platforms lists the platforms' names, sorted.
func Platforms() []string { return []string{PlatformAWS, PlatformLocal} }

// quoteAnd lists names for a message: "a", "b" and "c".
func quoteAnd(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// Workspace is what the root IMAGES.star declares with workspace(...).
type Workspace struct {
	Root       string // absolute directory of the root IMAGES.star
	Name       string
	HomeRegion string
	Platform   string // default platform; --platform overrides it
	Cache      string // default cache location, "" for the local default
}

// Pos is a place in a Starlark file, relative to the workspace root.
type Pos struct {
	File string // slash-separated, relative to the workspace root
	Line int32
	Col  int32
}

// Image is one image(...) target, with every select() resolved for the
// platform the workspace was loaded for.
type Image struct {
	Label  label.Label
	Pos    Pos
	Parent label.Label // zero when Source is set
	Source *Source     // nil when Parent is set

	Provision []Provisioner
	Artifacts []Artifact // sorted by name
	Salt      string
	// Tests run on a fresh instance of the baked image; only an image
	// whose tests pass is kept. They decide whether the image is kept,
	// not what it holds: a change re-tests it, and never rebakes it.
	Tests []Provisioner

	// Distribution: never part of the key.
	Regions     []string // where the finished image must exist; sorted, home first
	Tags        map[string]string
	Description string
	ShareWith   []string // aws: accounts and organization ARNs, sorted
	PublishSSM  string   // aws: parameter name that receives the image id
	// LaunchTemplates (aws) get a new default version that launches the
	// image, in each region it is wanted in; sorted.
	LaunchTemplates []string
	// DeprecateAfter (aws): when the image is published, the images of
	// the label it supersedes are deprecated this long after; 0 for never.
	DeprecateAfter time.Duration

	AWS AWSAttrs // content-affecting attributes of the aws platform
}

// AWSAttrs are the aws platform's attributes of how an image is baked.
// All but SSHPort and Subnet decide its content and are in its key.
type AWSAttrs struct {
	InstanceType string
	// InstanceTypeDefaulted: instance_type was not given, and the bake
	// runs on the default type of its image's architecture
	// (DefaultInstanceTypeFor), whatever InstanceType says. InstanceType
	// is that default when the architecture is known at load (an
	// ami_filter's), t3.micro otherwise, and is in the key as it is.
	InstanceTypeDefaulted bool
	SSHUser               string
	SSHPort               int // how the baker reaches the instance; not content
	// SSHTimeout bounds how long the baker tries to reach the instance
	// over SSH; 0 is the platform's default. Not content.
	SSHTimeout   time.Duration
	VolumeSizeGB int
	Encrypted    bool
	KMSKey       string
	Subnet       string // where the build instance runs; not content
	// IAMInstanceProfile is the profile the build and test instances run
	// with, by name; "" for none. Not content.
	IAMInstanceProfile string
	// UserData is the content of the build instance's user data (the
	// file UserDataFile, read at load); "" for none. In the key.
	UserData     string
	UserDataFile *File
	// Spot: the build instance is a spot instance, or on demand when
	// spot has no capacity; nil: on demand. Not content.
	Spot *Spot
	// RootVolume is root_volume: its type, IOPS and throughput (its
	// size and encryption are VolumeSizeGB, Encrypted and KMSKey too);
	// nil: a gp3 root of VolumeSizeGB.
	RootVolume *Volume
	// Volumes are the extra volumes, attached during the bake and kept
	// in the AMI's block device mappings.
	Volumes []Volume
	// The AMI's own attributes; "" or nil where the image inherits its
	// source's. IMDSv1Allowed is imds_support = "": the AMI does not
	// require IMDSv2 (it does by default).
	BootMode      string
	TPMSupport    string
	ENASupport    *bool
	IMDSv1Allowed bool

	// How the build instance is reached on the network; none of it is
	// content (builtins_image_aws_net.go).
	Network AWSNetwork
}

// The forms of a share_with entry: an account, an organization, or an
// organizational unit. Loading accepts exactly what publishing can grant.
var (
	AccountRE = regexp.MustCompile(`^[0-9]{12}$`)
	OrgARNRE  = regexp.MustCompile(`^arn:aws[a-z-]*:organizations::[0-9]{12}:organization/o-[a-z0-9]+$`)
	OUARNRE   = regexp.MustCompile(`^arn:aws[a-z-]*:organizations::[0-9]{12}:ou/o-[a-z0-9]+/ou-[a-z0-9-]+$`)
)

// KMSKeyIn is the form of KMSKey that encrypts in region. An alias or a
// key id is looked up in that region; an ARN names one region, and only a
// multi-Region key (mrk-…) or an alias has the same name elsewhere.
func (a AWSAttrs) KMSKeyIn(region string) (string, error) {
	parts := strings.SplitN(a.KMSKey, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kms" || parts[3] == region {
		return a.KMSKey, nil
	}
	if strings.HasPrefix(parts[5], "key/mrk-") || strings.HasPrefix(parts[5], "alias/") {
		parts[3] = region
		return strings.Join(parts, ":"), nil
	}
	return "", fmt.Errorf("kms_key %s is in %s and cannot encrypt the image in %s: "+
		"use a multi-Region key (mrk-…) or an alias that exists in every region", a.KMSKey, parts[3], region)
}

// SourceKind names the kinds of root source.
type SourceKind string

const (
	SourceAMI       SourceKind = "ami"
	SourceAMIFilter SourceKind = "ami_filter"
	SourceSSM       SourceKind = "ssm_parameter"
	SourceRootfs    SourceKind = "rootfs"
)

// Source is where a root image starts.
type Source struct {
	Kind SourceKind
	Pos  Pos

	ID string // ami: the image id

	// ami_filter
	Owners       []string
	NamePattern  string
	Architecture string
	Filters      map[string][]string

	Parameter string // ssm_parameter: the parameter's name

	// rootfs: a directory or tarball (File), or a URL pinned by SHA256.
	File   *File
	URL    string
	SHA256 string
}

// Floating reports whether the source must be resolved (and locked) before
// it names one image.
func (s *Source) Floating() bool {
	return s.Kind == SourceAMIFilter || s.Kind == SourceSSM
}

// Platform is the platform a source belongs to.
func (s *Source) Platform() string {
	if s.Kind == SourceRootfs {
		return PlatformLocal
	}
	return PlatformAWS
}

// File is a file of a package that a provisioner sends, or a rootfs.
type File struct {
	Label label.Label // the file as a target: //pkg:path/in/pkg
	Path  string      // absolute path on this machine
}

// ProvisionerKind names the kinds of provisioner.
type ProvisionerKind string

const (
	ProvisionShell ProvisionerKind = "shell"
	ProvisionCopy  ProvisionerKind = "copy"
)

// Provisioner is one step run inside the image being baked, in order.
type Provisioner struct {
	Kind ProvisionerKind
	Pos  Pos

	// shell: exactly one of Script and Inline.
	Script    *File
	Inline    []string
	Env       map[string]string
	SecretEnv []string // names read from imgraph's environment at bake time; sorted

	// copy
	Src  *File
	Dest string
	Mode string // octal, "" to keep the source file's mode
}

// Artifact is a file imgraph fetches, verifies and uploads before the
// provisioners run; they find it at $IMGRAPH_ARTIFACT_<NAME>.
type Artifact struct {
	Name   string
	URL    string
	SHA256 string
	Pos    Pos
}

// Files lists every file the image sends, in provisioner order, then
// the tests' files, its rootfs and its user data.
func (im *Image) Files() []*File {
	var fs []*File
	for _, list := range [][]Provisioner{im.Provision, im.Tests} {
		for i := range list {
			p := &list[i]
			if p.Script != nil {
				fs = append(fs, p.Script)
			}
			if p.Src != nil {
				fs = append(fs, p.Src)
			}
		}
	}
	if im.Source != nil && im.Source.File != nil {
		fs = append(fs, im.Source.File)
	}
	if im.AWS.UserDataFile != nil {
		fs = append(fs, im.AWS.UserDataFile) // sent to EC2, not to the image
	}
	return fs
}
