package ec2sim

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// launchTemplate is an EC2 launch template: numbered, immutable versions,
// one of which is the default.
type launchTemplate struct {
	seq            uint64
	id             string
	name           string
	created        time.Time
	defaultVersion int64
	versions       []*launchTemplateVersion // by number, from 1
	tags           map[string]string
}

func (lt *launchTemplate) order() uint64 { return lt.seq }

func (lt *launchTemplate) latest() *launchTemplateVersion { return lt.versions[len(lt.versions)-1] }

type launchTemplateVersion struct {
	number      int64
	description string
	created     time.Time
	data        launchTemplateData
}

// launchTemplateData is the part of EC2's launch template data the
// simulator models: each member is set or not, and a new version's
// members replace its source version's whole.
type launchTemplateData struct {
	ImageID        *string
	InstanceType   *string
	KeyName        *string
	UserData       *string
	EbsOptimized   *bool
	SecurityGroups []string // SecurityGroupId.N; nil when not set
}

// launchTemplateMembers are the LaunchTemplateData members the simulator
// reads; any other is refused rather than silently dropped.
var launchTemplateMembers = []string{"ImageId", "InstanceType", "KeyName", "UserData", "EbsOptimized", "SecurityGroupId"}

var (
	launchTemplateNamePattern = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)
	launchTemplateIDPattern   = regexp.MustCompile(`^lt-[0-9a-f]{17}$`)
)

// createdBy is who made a template or version: the caller's root.
const createdBy = "arn:aws:iam::" + Account + ":root"

// maxLaunchTemplateVersions is how many versions a template may have.
const maxLaunchTemplateVersions = 10000

func checkLaunchTemplateName(name string) *apiError {
	if !launchTemplateNamePattern.MatchString(name) {
		return newError("InvalidLaunchTemplateName.MalformedException",
			"A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.' (%q)", name)
	}
	return nil
}

func launchTemplateNameNotFound(name string) *apiError {
	return newError("InvalidLaunchTemplateName.NotFoundException",
		"The specified launch template, with template name %s, does not exist.", name)
}

func launchTemplateIDNotFound(id string) *apiError {
	return newError("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
}

func launchTemplateVersionNotFound(lt *launchTemplate, v string) *apiError {
	return newError("InvalidLaunchTemplateId.VersionNotFound",
		"Could not find launch template version %s for launch template %s (%s).", v, lt.id, lt.name)
}

func (r *region) launchTemplateNamed(name string) *launchTemplate {
	for _, lt := range r.launchTemplates {
		if lt.name == name {
			return lt
		}
	}
	return nil
}

// launchTemplateByID finds a template by its id.
func (r *region) launchTemplateByID(id string) (*launchTemplate, *apiError) {
	if !launchTemplateIDPattern.MatchString(id) {
		return nil, newError("InvalidLaunchTemplateId.Malformed",
			"The specified ID for the launch template (%s) is malformed. Specify the launch template ID in the form lt-xxxxxxxxxxxxxxxxx.", id)
	}
	lt := r.launchTemplates[id]
	if lt == nil {
		return nil, launchTemplateIDNotFound(id)
	}
	return lt, nil
}

// namedLaunchTemplate is the template the call names by LaunchTemplateId
// or LaunchTemplateName: one of them, not both.
func (c *call) namedLaunchTemplate() (*launchTemplate, *apiError) {
	p, r := c.params, c.region
	id, name := p.get("LaunchTemplateId"), p.get("LaunchTemplateName")
	switch {
	case id != "" && name != "":
		return nil, newError("InvalidParameterCombination", "Specify either the launch template ID or the launch template name, but not both.")
	case id != "":
		return r.launchTemplateByID(id)
	case name != "":
		if err := checkLaunchTemplateName(name); err != nil {
			return nil, err
		}
		lt := r.launchTemplateNamed(name)
		if lt == nil {
			return nil, launchTemplateNameNotFound(name)
		}
		return lt, nil
	}
	return nil, missing("LaunchTemplateId or LaunchTemplateName")
}

// version finds a version by number, $Latest or $Default.
func (lt *launchTemplate) version(v string) (*launchTemplateVersion, *apiError) {
	switch v {
	case "$Latest":
		return lt.latest(), nil
	case "$Default":
		return lt.versions[lt.defaultVersion-1], nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > int64(len(lt.versions)) {
		return nil, launchTemplateVersionNotFound(lt, v)
	}
	return lt.versions[n-1], nil
}

// readLaunchTemplateData reads LaunchTemplateData over base: each member
// the request sets replaces base's.
func (p params) readLaunchTemplateData(base launchTemplateData) (launchTemplateData, *apiError) {
	if !p.hasPrefix("LaunchTemplateData.") {
		return base, missing("LaunchTemplateData")
	}
	d := p.sub("LaunchTemplateData")
	for _, member := range d.memberNames() {
		if !slices.Contains(launchTemplateMembers, member) {
			return base, newError("InvalidParameterValue",
				"LaunchTemplateData.%s is not modelled by the simulator (it reads %s)", member, strings.Join(launchTemplateMembers, ", "))
		}
	}
	str := func(name string, dst **string) {
		if d.has(name) {
			v := d.get(name)
			*dst = &v
		}
	}
	str("ImageId", &base.ImageID)
	str("InstanceType", &base.InstanceType)
	str("KeyName", &base.KeyName)
	str("UserData", &base.UserData)
	if b, set, err := d.boolean("EbsOptimized"); err != nil {
		return base, err
	} else if set {
		base.EbsOptimized = &b
	}
	if groups := d.list("SecurityGroupId"); len(groups) > 0 {
		base.SecurityGroups = groups
	}
	if base.ImageID != nil && *base.ImageID != "" && !strings.HasPrefix(*base.ImageID, "resolve:ssm:") {
		if err := checkImageID(*base.ImageID); err != nil {
			return base, err
		}
	}
	return base, nil
}

// hasPrefix reports whether any key of the form starts with the prefix.
func (p params) hasPrefix(prefix string) bool {
	for k := range p.form {
		if strings.HasPrefix(k, p.prefix+prefix) {
			return true
		}
	}
	return false
}

// memberNames are the names of the structure's members the form sets
// (the part of each key before its first dot), sorted.
func (p params) memberNames() []string {
	var out []string
	for k := range p.form {
		rest, ok := strings.CutPrefix(k, p.prefix)
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, ".")
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// dataWarnings are what EC2 warns of in a version's data without
// refusing it: an image that does not exist in the region.
func (c *call) dataWarnings(d launchTemplateData) *validationWarningXML {
	if d.ImageID == nil || *d.ImageID == "" || strings.HasPrefix(*d.ImageID, "resolve:ssm:") {
		return nil
	}
	if im := c.region.images[*d.ImageID]; im == nil || !im.visible() {
		return &validationWarningXML{Errors: items([]validationErrorXML{{
			Code: "InvalidAMIID.NotFound", Message: fmt.Sprintf("The image id '[%s]' does not exist", *d.ImageID),
		}})}
	}
	return nil
}

// launchTemplateToken remembers a ClientToken's template or version, so
// that a call made again answers with what the first one made.
type launchTemplateToken struct {
	templateID string
	version    int64
}

func createLaunchTemplate(c *call) (any, *apiError) {
	p, r := c.params, c.region
	name := p.get("LaunchTemplateName")
	if name == "" {
		return nil, missing("LaunchTemplateName")
	}
	if err := checkLaunchTemplateName(name); err != nil {
		return nil, err
	}
	token := p.get("ClientToken")
	if len(token) > 128 {
		return nil, invalidValue("ClientToken", token)
	}
	if t, ok := r.launchTemplateTokens[token]; ok && token != "" {
		if lt := r.launchTemplates[t.templateID]; lt != nil {
			return &launchTemplateResponse{LaunchTemplate: launchTemplateToXML(lt)}, nil
		}
	}
	data, err := p.readLaunchTemplateData(launchTemplateData{})
	if err != nil {
		return nil, err
	}
	specs, err := p.tagSpecs("launch-template")
	if err != nil {
		return nil, err
	}
	if r.launchTemplateNamed(name) != nil {
		return nil, newError("InvalidLaunchTemplateName.AlreadyExistsException",
			"Launch template name already in use.")
	}
	lt := &launchTemplate{
		seq: c.sim.nextSeq(), id: newID("lt-"), name: name, created: c.now, defaultVersion: 1,
		tags: cloneTags(specs["launch-template"]),
	}
	lt.versions = []*launchTemplateVersion{{number: 1, description: p.get("VersionDescription"), created: c.now, data: data}}
	r.launchTemplates[lt.id] = lt
	if token != "" {
		r.launchTemplateTokens[token] = launchTemplateToken{templateID: lt.id, version: 1}
	}
	return &launchTemplateResponse{LaunchTemplate: launchTemplateToXML(lt), Warning: c.dataWarnings(data)}, nil
}

func createLaunchTemplateVersion(c *call) (any, *apiError) {
	p, r := c.params, c.region
	token := p.get("ClientToken")
	if len(token) > 128 {
		return nil, invalidValue("ClientToken", token)
	}
	lt, err := c.namedLaunchTemplate()
	if err != nil {
		return nil, err
	}
	if t, ok := r.launchTemplateTokens[token]; ok && token != "" && t.templateID == lt.id && t.version <= int64(len(lt.versions)) {
		return &launchTemplateVersionResponse{Version: versionToXML(lt, lt.versions[t.version-1])}, nil
	}
	var base launchTemplateData
	if p.has("SourceVersion") {
		src, err := lt.version(p.get("SourceVersion"))
		if err != nil {
			return nil, err
		}
		base = src.data
		base.SecurityGroups = slices.Clone(base.SecurityGroups)
	}
	data, err := p.readLaunchTemplateData(base)
	if err != nil {
		return nil, err
	}
	if len(lt.versions) >= maxLaunchTemplateVersions {
		return nil, newError("LaunchTemplateVersionLimitExceeded", "The launch template %s has the maximum of %d versions.", lt.id, maxLaunchTemplateVersions)
	}
	v := &launchTemplateVersion{number: int64(len(lt.versions)) + 1, description: p.get("VersionDescription"), created: c.now, data: data}
	lt.versions = append(lt.versions, v)
	if token != "" {
		r.launchTemplateTokens[token] = launchTemplateToken{templateID: lt.id, version: v.number}
	}
	return &launchTemplateVersionResponse{Version: versionToXML(lt, v), Warning: c.dataWarnings(data)}, nil
}

func modifyLaunchTemplate(c *call) (any, *apiError) {
	p := c.params
	lt, err := c.namedLaunchTemplate()
	if err != nil {
		return nil, err
	}
	if p.has("SetDefaultVersion") {
		v := p.get("SetDefaultVersion")
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < 1 || n > int64(len(lt.versions)) {
			return nil, launchTemplateVersionNotFound(lt, v)
		}
		lt.defaultVersion = n
	}
	return &launchTemplateResponse{LaunchTemplate: launchTemplateToXML(lt)}, nil
}

func deleteLaunchTemplate(c *call) (any, *apiError) {
	lt, err := c.namedLaunchTemplate()
	if err != nil {
		return nil, err
	}
	delete(c.region.launchTemplates, lt.id)
	for token, t := range c.region.launchTemplateTokens {
		if t.templateID == lt.id {
			delete(c.region.launchTemplateTokens, token)
		}
	}
	return &launchTemplateResponse{LaunchTemplate: launchTemplateToXML(lt)}, nil
}

func describeLaunchTemplates(c *call) (any, *apiError) {
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, launchTemplateField(&launchTemplate{})); err != nil {
		return nil, err
	}
	ids, names := p.list("LaunchTemplateId"), p.list("LaunchTemplateName")
	var candidates []*launchTemplate
	if len(ids) > 0 || len(names) > 0 {
		for _, id := range ids {
			lt, err := r.launchTemplateByID(id)
			if err != nil {
				return nil, err
			}
			candidates = append(candidates, lt)
		}
		for _, name := range names {
			if err := checkLaunchTemplateName(name); err != nil {
				return nil, err
			}
			lt := r.launchTemplateNamed(name)
			if lt == nil {
				return nil, newError("InvalidLaunchTemplateName.NotFoundException",
					"At least one of the launch templates specified in the request does not exist.")
			}
			candidates = append(candidates, lt)
		}
	} else {
		candidates = byOrder(r.launchTemplates)
	}
	var found []launchTemplateXML
	for _, lt := range candidates {
		if matches(fs, lt.tags, launchTemplateField(lt)) {
			found = append(found, launchTemplateToXML(lt))
		}
	}
	page, next, err := paginateUpTo(p, found, 1, 200)
	if err != nil {
		return nil, err
	}
	return &describeLaunchTemplatesResponse{Templates: items(page), NextToken: next}, nil
}

func launchTemplateField(lt *launchTemplate) fieldFunc {
	return func(name string) ([]string, bool) {
		switch name {
		case "launch-template-name":
			return []string{lt.name}, true
		case "create-time":
			return []string{formatTime(lt.created)}, true
		}
		return nil, false
	}
}

func describeLaunchTemplateVersions(c *call) (any, *apiError) {
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, versionField(&launchTemplate{}, &launchTemplateVersion{})); err != nil {
		return nil, err
	}
	versions := p.list("LaunchTemplateVersion")
	type pick struct {
		lt *launchTemplate
		v  *launchTemplateVersion
	}
	var picks []pick
	if p.get("LaunchTemplateId") == "" && p.get("LaunchTemplateName") == "" {
		// Every template's $Latest or $Default version, and nothing else.
		if len(versions) == 0 {
			return nil, missing("LaunchTemplateId or LaunchTemplateName")
		}
		for _, v := range versions {
			if v != "$Latest" && v != "$Default" {
				return nil, newError("InvalidParameterValue",
					"Without a launch template, only the versions $Latest and $Default may be described (not %s)", v)
			}
		}
		for _, lt := range byOrder(r.launchTemplates) {
			for _, v := range versions {
				ver, _ := lt.version(v)
				if !slices.ContainsFunc(picks, func(pk pick) bool { return pk.lt == lt && pk.v == ver }) {
					picks = append(picks, pick{lt, ver})
				}
			}
		}
	} else {
		lt, err := c.namedLaunchTemplate()
		if err != nil {
			return nil, err
		}
		min, max := int64(1), int64(len(lt.versions))
		for _, bound := range []struct {
			name string
			dst  *int64
		}{{"MinVersion", &min}, {"MaxVersion", &max}} {
			if !p.has(bound.name) {
				continue
			}
			v := p.get(bound.name)
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil || n < 1 {
				return nil, invalidValue(bound.name, v)
			}
			*bound.dst = n
		}
		if len(versions) > 0 {
			for _, v := range versions {
				ver, err := lt.version(v)
				if err != nil {
					return nil, err
				}
				if !slices.ContainsFunc(picks, func(pk pick) bool { return pk.v == ver }) {
					picks = append(picks, pick{lt, ver})
				}
			}
		} else {
			for _, ver := range lt.versions {
				if ver.number >= min && ver.number <= max {
					picks = append(picks, pick{lt, ver})
				}
			}
		}
	}
	var found []launchTemplateVersionXML
	for _, pk := range picks {
		if matches(fs, nil, versionField(pk.lt, pk.v)) {
			found = append(found, versionToXML(pk.lt, pk.v))
		}
	}
	page, next, err := paginateUpTo(p, found, 1, 200)
	if err != nil {
		return nil, err
	}
	return &describeLaunchTemplateVersionsResponse{Versions: items(page), NextToken: next}, nil
}

func versionField(lt *launchTemplate, v *launchTemplateVersion) fieldFunc {
	return func(name string) ([]string, bool) {
		opt := func(s *string) ([]string, bool) {
			if s == nil {
				return nil, true
			}
			return []string{*s}, true
		}
		switch name {
		case "image-id":
			return opt(v.data.ImageID)
		case "instance-type":
			return opt(v.data.InstanceType)
		case "key-name":
			return opt(v.data.KeyName)
		case "is-default-version":
			return []string{strconv.FormatBool(lt.defaultVersion == v.number)}, true
		case "create-time":
			return []string{formatTime(v.created)}, true
		case "ebs-optimized":
			if v.data.EbsOptimized == nil {
				return nil, true
			}
			return []string{strconv.FormatBool(*v.data.EbsOptimized)}, true
		}
		return nil, false
	}
}

// The XML of launch templates.

type launchTemplateXML struct {
	ID             string          `xml:"launchTemplateId"`
	Name           string          `xml:"launchTemplateName"`
	CreateTime     string          `xml:"createTime"`
	CreatedBy      string          `xml:"createdBy"`
	DefaultVersion int64           `xml:"defaultVersionNumber"`
	LatestVersion  int64           `xml:"latestVersionNumber"`
	Tags           itemSet[tagXML] `xml:"tagSet"`
}

type launchTemplateDataXML struct {
	ImageID        string           `xml:"imageId,omitempty"`
	InstanceType   string           `xml:"instanceType,omitempty"`
	KeyName        string           `xml:"keyName,omitempty"`
	UserData       string           `xml:"userData,omitempty"`
	EbsOptimized   *bool            `xml:"ebsOptimized,omitempty"`
	SecurityGroups *itemSet[string] `xml:"securityGroupIdSet,omitempty"`
}

type launchTemplateVersionXML struct {
	TemplateID     string                `xml:"launchTemplateId"`
	TemplateName   string                `xml:"launchTemplateName"`
	Number         int64                 `xml:"versionNumber"`
	Description    string                `xml:"versionDescription,omitempty"`
	CreateTime     string                `xml:"createTime"`
	CreatedBy      string                `xml:"createdBy"`
	DefaultVersion bool                  `xml:"defaultVersion"`
	Data           launchTemplateDataXML `xml:"launchTemplateData"`
}

type validationErrorXML struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type validationWarningXML struct {
	Errors itemSet[validationErrorXML] `xml:"errorSet"`
}

type launchTemplateResponse struct {
	LaunchTemplate launchTemplateXML     `xml:"launchTemplate"`
	Warning        *validationWarningXML `xml:"warning,omitempty"`
}

type launchTemplateVersionResponse struct {
	Version launchTemplateVersionXML `xml:"launchTemplateVersion"`
	Warning *validationWarningXML    `xml:"warning,omitempty"`
}

type describeLaunchTemplatesResponse struct {
	Templates itemSet[launchTemplateXML] `xml:"launchTemplates"`
	NextToken string                     `xml:"nextToken,omitempty"`
}

type describeLaunchTemplateVersionsResponse struct {
	Versions  itemSet[launchTemplateVersionXML] `xml:"launchTemplateVersionSet"`
	NextToken string                            `xml:"nextToken,omitempty"`
}

func launchTemplateToXML(lt *launchTemplate) launchTemplateXML {
	return launchTemplateXML{
		ID: lt.id, Name: lt.name, CreateTime: formatTime(lt.created), CreatedBy: createdBy,
		DefaultVersion: lt.defaultVersion, LatestVersion: lt.latest().number, Tags: tagSet(lt.tags),
	}
}

func versionToXML(lt *launchTemplate, v *launchTemplateVersion) launchTemplateVersionXML {
	d := v.data
	x := launchTemplateVersionXML{
		TemplateID: lt.id, TemplateName: lt.name, Number: v.number, Description: v.description,
		CreateTime: formatTime(v.created), CreatedBy: createdBy, DefaultVersion: lt.defaultVersion == v.number,
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	x.Data = launchTemplateDataXML{
		ImageID: deref(d.ImageID), InstanceType: deref(d.InstanceType), KeyName: deref(d.KeyName),
		UserData: deref(d.UserData), EbsOptimized: d.EbsOptimized,
	}
	if d.SecurityGroups != nil {
		set := items(slices.Clone(d.SecurityGroups))
		x.Data.SecurityGroups = &set
	}
	return x
}
