package ec2sim

import (
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// State is what the simulator holds, region by region (GET /_sim/state).
// Deregistered images and deleted resources are gone from it; terminated
// instances stay for an hour, as EC2 shows them.
type State struct {
	Regions map[string]*RegionState `json:"regions"`
}

// RegionState is what one region holds, each list in creation order.
type RegionState struct {
	Instances       []Instance       `json:"instances"`
	Images          []Image          `json:"images"`
	Snapshots       []Snapshot       `json:"snapshots"`
	Volumes         []Volume         `json:"volumes"`
	KeyPairs        []KeyPair        `json:"keyPairs"`
	SecurityGroups  []SecurityGroup  `json:"securityGroups"`
	Parameters      []Parameter      `json:"parameters"`
	LaunchTemplates []LaunchTemplate `json:"launchTemplates"`
}

// LaunchTemplate is a launch template as the state shows it, with the
// image id of each version (by number, from 1).
type LaunchTemplate struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	DefaultVersion int64             `json:"defaultVersion"`
	Versions       []string          `json:"versionImageIds"`
	Tags           map[string]string `json:"tags"`
}

// Instance is an instance as the state shows it.
type Instance struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	ImageID      string `json:"imageId"`
	InstanceType string `json:"instanceType"`
	KeyName      string `json:"keyName,omitempty"`
	// Address is its public IP (while it has one) and PrivateAddress its
	// private IP, both on loopback; Zone and Subnet are where it runs.
	// SSH is where its SSH server listens on the public address while it
	// runs (it listens on the private one too), SSHHostKey that server's
	// key (an authorized_keys line), and SSHError why it could not listen.
	Address        string            `json:"address,omitempty"`
	PrivateAddress string            `json:"privateAddress,omitempty"`
	Zone           string            `json:"zone,omitempty"`
	Subnet         string            `json:"subnet,omitempty"`
	SSH            string            `json:"ssh,omitempty"`
	SSHHostKey     string            `json:"sshHostKey,omitempty"`
	SSHError       string            `json:"sshError,omitempty"`
	SecurityGroups []string          `json:"securityGroups"`
	HTTPTokens     string            `json:"httpTokens"`
	Lifecycle      string            `json:"lifecycle,omitempty"` // "spot", or "" on demand
	Volumes        []string          `json:"volumes"`
	Dir            string            `json:"dir,omitempty"` // its root filesystem
	LaunchTime     time.Time         `json:"launchTime"`
	Tags           map[string]string `json:"tags"`
}

// Image is an image as the state shows it.
type Image struct {
	ID                string             `json:"id"`
	Name              string             `json:"name"`
	State             string             `json:"state"`
	Owner             string             `json:"owner"`
	Architecture      string             `json:"architecture"`
	Description       string             `json:"description,omitempty"`
	Public            bool               `json:"public"`
	LaunchPermissions []LaunchPermission `json:"launchPermissions"`
	Snapshots         []string           `json:"snapshots"`
	SourceImage       string             `json:"sourceImage,omitempty"`
	SourceRegion      string             `json:"sourceRegion,omitempty"`
	Created           time.Time          `json:"created"`
	// DeprecationTime is when the image is (or was) deprecated.
	DeprecationTime *time.Time        `json:"deprecationTime,omitempty"`
	Tags            map[string]string `json:"tags"`
}

// Snapshot is a snapshot as the state shows it.
type Snapshot struct {
	ID        string            `json:"id"`
	State     string            `json:"state"`
	VolumeID  string            `json:"volumeId"`
	Owner     string            `json:"owner"`
	Size      int               `json:"size"`
	Encrypted bool              `json:"encrypted"`
	KmsKeyID  string            `json:"kmsKeyId,omitempty"`
	Tags      map[string]string `json:"tags"`
}

// Volume is a volume as the state shows it.
type Volume struct {
	ID                  string            `json:"id"`
	State               string            `json:"state"`
	Size                int               `json:"size"`
	VolumeType          string            `json:"volumeType"`
	Encrypted           bool              `json:"encrypted"`
	KmsKeyID            string            `json:"kmsKeyId,omitempty"`
	SnapshotID          string            `json:"snapshotId,omitempty"`
	InstanceID          string            `json:"instanceId,omitempty"`
	Device              string            `json:"device,omitempty"`
	DeleteOnTermination bool              `json:"deleteOnTermination"`
	Tags                map[string]string `json:"tags"`
}

// KeyPair is a key pair as the state shows it.
type KeyPair struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Fingerprint string            `json:"fingerprint"`
	Tags        map[string]string `json:"tags"`
}

// SecurityGroup is a security group as the state shows it.
type SecurityGroup struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	VpcID       string            `json:"vpcId"`
	Ingress     []Rule            `json:"ingress"`
	Egress      []Rule            `json:"egress"`
	Tags        map[string]string `json:"tags"`
}

// Rule is a security group rule: a protocol ("-1" is all) and port range
// (-1 for all) from one source.
type Rule struct {
	ID          string `json:"id"`
	Protocol    string `json:"protocol"`
	FromPort    int    `json:"fromPort"`
	ToPort      int    `json:"toPort"`
	CIDR        string `json:"cidr,omitempty"`
	CIDRv6      string `json:"cidrIpv6,omitempty"`
	GroupID     string `json:"groupId,omitempty"`
	Description string `json:"description,omitempty"`
}

// Parameter is an SSM parameter as the state shows it.
type Parameter struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	DataType string `json:"dataType"`
	Value    string `json:"value"`
	Version  int64  `json:"version"`
}

// State returns what the simulator holds. With a TimeFactor above 0, the
// transitions that are due happen first; with 0, looking changes nothing.
func (s *Sim) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := State{Regions: map[string]*RegionState{}}
	now := s.now()
	for _, name := range s.order {
		r := s.regions[name]
		c := &call{sim: s, region: r, seq: s.reqSeq, now: now}
		s.advance(c)
		out.Regions[name] = c.regionState()
	}
	return out
}

func (c *call) regionState() *RegionState {
	r := c.region
	rs := &RegionState{
		Instances: []Instance{}, Images: []Image{}, Snapshots: []Snapshot{}, Volumes: []Volume{},
		KeyPairs: []KeyPair{}, SecurityGroups: []SecurityGroup{}, Parameters: []Parameter{},
		LaunchTemplates: []LaunchTemplate{},
	}
	for _, in := range byOrder(r.instances) {
		x := Instance{
			ID: in.id, State: in.state, ImageID: in.imageID, InstanceType: in.instanceType, KeyName: in.keyName,
			Address: publicIP(in), PrivateAddress: privateIP(in), SSHError: in.sshErr, SecurityGroups: append([]string{}, in.groups...),
			HTTPTokens: in.metadata.httpTokens, Lifecycle: in.lifecycle(), Volumes: []string{}, LaunchTime: in.launched, Tags: cloneTags(in.tags),
		}
		if in.state != "terminated" {
			x.Dir = in.dir
			x.SSHHostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(in.hostKey.PublicKey())))
		}
		if in.subnet != nil {
			x.Zone, x.Subnet = in.subnet.zone.name, in.subnet.id
		}
		if in.server != nil {
			x.SSH = in.server.addr()
		}
		for _, d := range in.devices {
			x.Volumes = append(x.Volumes, d.volumeID)
		}
		rs.Instances = append(rs.Instances, x)
	}
	for _, im := range byOrder(r.images) {
		if im.deregistered {
			continue
		}
		x := Image{
			ID: im.id, Name: im.name, State: im.state, Owner: im.owner, Architecture: im.architecture,
			Description: im.description, Public: im.public(), LaunchPermissions: append([]LaunchPermission{}, im.perms...),
			Snapshots: []string{}, SourceImage: im.sourceImage, SourceRegion: im.sourceRegion,
			Created: im.created, Tags: cloneTags(im.tags),
		}
		for _, m := range im.mappings {
			x.Snapshots = append(x.Snapshots, m.snapshotID)
		}
		if !im.deprecateAt.IsZero() {
			at := im.deprecateAt
			x.DeprecationTime = &at
		}
		rs.Images = append(rs.Images, x)
	}
	for _, sn := range byOrder(r.snapshots) {
		rs.Snapshots = append(rs.Snapshots, Snapshot{
			ID: sn.id, State: sn.state, VolumeID: sn.volumeID, Owner: sn.owner, Size: sn.size,
			Encrypted: sn.encrypted, KmsKeyID: sn.kmsKeyID, Tags: cloneTags(sn.tags),
		})
	}
	for _, v := range byOrder(r.volumes) {
		x := Volume{
			ID: v.id, State: v.state, Size: v.size, VolumeType: v.volumeType, Encrypted: v.encrypted,
			KmsKeyID: v.kmsKeyID, SnapshotID: v.snapshotID, Tags: cloneTags(v.tags),
		}
		if a := v.attachment; a != nil {
			x.InstanceID, x.Device, x.DeleteOnTermination = a.instanceID, a.device, a.deleteOnTermination
		}
		rs.Volumes = append(rs.Volumes, x)
	}
	for _, kp := range byOrder(r.keyPairs) {
		rs.KeyPairs = append(rs.KeyPairs, KeyPair{ID: kp.id, Name: kp.name, Type: kp.keyType, Fingerprint: kp.fingerprint, Tags: cloneTags(kp.tags)})
	}
	for _, g := range byOrder(r.groups) {
		rs.SecurityGroups = append(rs.SecurityGroups, SecurityGroup{
			ID: g.id, Name: g.name, Description: g.description, VpcID: g.vpcID,
			Ingress: rulesState(g.ingress), Egress: rulesState(g.egress), Tags: cloneTags(g.tags),
		})
	}
	for _, lt := range byOrder(r.launchTemplates) {
		x := LaunchTemplate{ID: lt.id, Name: lt.name, DefaultVersion: lt.defaultVersion, Versions: []string{}, Tags: cloneTags(lt.tags)}
		for _, v := range lt.versions {
			id := ""
			if v.data.ImageID != nil {
				id = *v.data.ImageID
			}
			x.Versions = append(x.Versions, id)
		}
		rs.LaunchTemplates = append(rs.LaunchTemplates, x)
	}
	for _, pm := range byOrder(r.params) {
		rs.Parameters = append(rs.Parameters, Parameter{Name: pm.name, Type: pm.typ, DataType: pm.dataType, Value: pm.value, Version: pm.version})
	}
	return rs
}

func rulesState(rules []rule) []Rule {
	out := []Rule{}
	for _, ru := range rules {
		out = append(out, Rule{
			ID: ru.id, Protocol: ru.protocol, FromPort: ru.fromPort, ToPort: ru.toPort,
			CIDR: ru.cidr, CIDRv6: ru.cidrv6, GroupID: ru.groupID, Description: ru.description,
		})
	}
	return out
}

// Calls counts the requests received, per region and action (GET
// /_sim/calls), faulted ones included.
func (s *Sim) Calls() map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyCounts(s.calls)
}

// ResetCalls forgets the requests counted so far (DELETE /_sim/calls).
func (s *Sim) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]map[string]int{}
}
