package ec2sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// parameter is an SSM Parameter Store parameter. Only its latest version
// is kept.
type parameter struct {
	seq         uint64
	name        string
	typ         string // String, StringList, SecureString
	dataType    string // text or aws:ec2:image
	value       string
	description string
	version     int64
	modified    time.Time
	public      bool // registered from outside (/aws/service/…): read only
	tags        map[string]string
}

func (pm *parameter) order() uint64 { return pm.seq }

// ssmActions are the SSM actions the simulator serves.
var ssmActions = map[string]handler{
	"GetParameter":    getParameter,
	"GetParameters":   getParameters,
	"PutParameter":    putParameter,
	"DeleteParameter": deleteParameter,
	// ssm_list.go
	"GetParametersByPath": getParametersByPath,
	"DescribeParameters":  describeParameters,
	// ssm_tags.go
	"AddTagsToResource":      addTagsToResource,
	"ListTagsForResource":    listTagsForResource,
	"RemoveTagsFromResource": removeTagsFromResource,
	// session.go
	"StartSession":     startSession,
	"TerminateSession": terminateSession,
}

func (s *Sim) serveSSM(w http.ResponseWriter, r *http.Request, target, requestID string) {
	action, ok := strings.CutPrefix(target, "AmazonSSM.")
	if !ok {
		writeSSMError(w, requestID, newError("UnknownOperationException", "Unknown operation %s", target))
		return
	}
	regionName, aerr := requestRegion(r)
	if aerr != nil {
		writeSSMError(w, requestID, aerr)
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeSSMError(w, requestID, newError("SerializationException", "%v", err))
		return
	}
	out, aerr := s.dispatch(regionName, action, nil, time.Time{}, func(c *call) (any, *apiError) {
		c.body, c.host = body, r.Host
		h := ssmActions[action]
		if h == nil {
			return nil, newError("UnknownOperationException", "The simulator does not serve SSM's %s", action)
		}
		return h(c)
	})
	if aerr != nil {
		writeSSMError(w, requestID, aerr)
		return
	}
	data, err := json.Marshal(out)
	if err != nil {
		writeSSMError(w, requestID, internalError(err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// writeSSMError writes an error as the JSON 1.1 protocol does:
// {"__type":"ParameterNotFound","message":"…"}.
func writeSSMError(w http.ResponseWriter, requestID string, e *apiError) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	data, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.Header().Set("x-amzn-ErrorType", e.Code)
	w.WriteHeader(status)
	w.Write(data)
}

func validation(format string, args ...any) *apiError {
	return newError("ValidationException", format, args...)
}

func (c *call) decode(v any) *apiError {
	if len(c.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return newError("SerializationException", "%v", err)
	}
	return nil
}

// parameterJSON is a parameter as GetParameter writes it.
type parameterJSON struct {
	ARN              string  `json:"ARN"`
	DataType         string  `json:"DataType"`
	LastModifiedDate float64 `json:"LastModifiedDate"`
	Name             string  `json:"Name"`
	Selector         string  `json:"Selector,omitempty"`
	Type             string  `json:"Type"`
	Value            string  `json:"Value"`
	Version          int64   `json:"Version"`
}

func (c *call) parameterJSON(pm *parameter, selector string) parameterJSON {
	account := Account
	if pm.public {
		account = "" // public parameters belong to no account: arn:aws:ssm:REGION::parameter/aws/…
	}
	return parameterJSON{
		ARN:              fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", c.region.name, account, strings.TrimPrefix(pm.name, "/")),
		DataType:         pm.dataType,
		LastModifiedDate: float64(pm.modified.UnixNano()) / 1e9,
		Name:             pm.name,
		Selector:         selector,
		Type:             pm.typ,
		Value:            pm.value,
		Version:          pm.version,
	}
}

// lookup finds a parameter by name, ARN, or name:version.
func (c *call) lookup(name string) (*parameter, string, *apiError) {
	fromARN := false
	if strings.HasPrefix(name, "arn:") {
		if _, rest, ok := strings.Cut(name, ":parameter"); ok {
			name, fromARN = rest, true
		}
	}
	selector := ""
	if i := strings.LastIndex(name, ":"); i > 0 {
		name, selector = name[:i], name[i:]
	}
	pm := c.region.params[name]
	if pm == nil && fromARN {
		// An ARN writes parameter/x for the parameter x.
		pm = c.region.params[strings.TrimPrefix(name, "/")]
	}
	if pm == nil {
		return nil, "", newError("ParameterNotFound", "Parameter %s not found.", name)
	}
	if selector != "" {
		v, err := strconv.ParseInt(selector[1:], 10, 64)
		if err != nil || v != pm.version {
			return nil, "", newError("ParameterVersionNotFound", "Systems Manager could not find version %s of %s.", selector[1:], name)
		}
	}
	return pm, selector, nil
}

func getParameter(c *call) (any, *apiError) {
	var in struct {
		Name           string
		WithDecryption bool
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	pm, selector, err := c.lookup(in.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Parameter": c.parameterJSON(pm, selector)}, nil
}

func getParameters(c *call) (any, *apiError) {
	var in struct {
		Names          []string
		WithDecryption bool
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.Names) == 0 || len(in.Names) > 10 {
		return nil, validation("1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	found := []parameterJSON{}
	invalid := []string{}
	for _, name := range in.Names {
		pm, selector, err := c.lookup(name)
		if err != nil {
			invalid = append(invalid, name)
			continue
		}
		found = append(found, c.parameterJSON(pm, selector))
	}
	return map[string]any{"Parameters": found, "InvalidParameters": invalid}, nil
}

var parameterName = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

func checkParameterName(name string) *apiError {
	if name == "" {
		return validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if len(name) > 2048 || !parameterName.MatchString(name) || (strings.Contains(name, "/") && !strings.HasPrefix(name, "/")) {
		return validation("Parameter name must be a fully qualified name (%q)", name)
	}
	lower := strings.ToLower(strings.TrimPrefix(name, "/"))
	if strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm") {
		return validation("No access to reserved parameter name: %s.", name)
	}
	return nil
}

func putParameter(c *call) (any, *apiError) {
	var in struct {
		Name        string
		Value       *string
		Type        string
		DataType    string
		Overwrite   bool
		Description string
		Tier        string
		Tags        []struct{ Key, Value string }
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if err := checkParameterName(in.Name); err != nil {
		return nil, err
	}
	if in.Value == nil {
		return nil, validation("1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must not be null")
	}
	if len(*in.Value) > 4096 {
		return nil, validation("Parameter value exceeds the 4096 characters of the Standard tier")
	}
	if in.Overwrite && len(in.Tags) > 0 {
		return nil, validation("Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	}
	r := c.region
	old := r.params[in.Name]
	if old != nil && !in.Overwrite {
		return nil, newError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	typ := in.Type
	switch typ {
	case "":
		if old == nil {
			return nil, validation("A parameter type is required when you create a parameter.")
		}
		typ = old.typ
	case "String", "StringList", "SecureString":
	default:
		return nil, newError("UnsupportedParameterType", "The parameter type %s is not supported", typ)
	}
	dataType := in.DataType
	switch dataType {
	case "":
		dataType = "text"
		if old != nil {
			dataType = old.dataType
		}
	case "text":
	case "aws:ec2:image":
		if typ != "String" {
			return nil, validation("The data type aws:ec2:image is supported for String parameters only")
		}
	default:
		return nil, validation("The following data type is not supported: %s (text or aws:ec2:image)", dataType)
	}
	if dataType == "aws:ec2:image" {
		// EC2 checks the image in this region before the parameter exists.
		im := r.images[*in.Value]
		if !imageIDPattern.MatchString(*in.Value) || im == nil || !im.visible() {
			return nil, validation("Parameter value, %s, is not a valid AMI id or the AMI does not exist in %s.", *in.Value, r.name)
		}
	}
	pm := &parameter{
		seq: c.sim.nextSeq(), name: in.Name, typ: typ, dataType: dataType, value: *in.Value,
		description: in.Description, version: 1, modified: c.now,
	}
	if old != nil {
		pm.seq, pm.version, pm.tags = old.seq, old.version+1, old.tags
		if in.Description == "" {
			pm.description = old.description
		}
	}
	if len(in.Tags) > 0 {
		tags := map[string]string{}
		for _, t := range in.Tags {
			tags[t.Key] = t.Value
		}
		if err := checkParameterTags(nil, tags); err != nil {
			return nil, err
		}
		pm.tags = tags
	}
	r.params[in.Name] = pm
	return map[string]any{"Version": pm.version, "Tier": "Standard"}, nil
}

func deleteParameter(c *call) (any, *apiError) {
	var in struct{ Name string }
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	pm := c.region.params[in.Name]
	if pm == nil {
		return nil, newError("ParameterNotFound", "Parameter %s not found.", in.Name)
	}
	if pm.public {
		return nil, validation("No access to reserved parameter name: %s.", in.Name)
	}
	delete(c.region.params, in.Name)
	return map[string]any{}, nil
}

// PutParameter sets a String parameter in region, as Amazon's public
// parameters (/aws/service/…) are set: it may name anything and cannot be
// changed through the API.
func (s *Sim) PutParameter(regionName, name, value string) error {
	if name == "" {
		return fmt.Errorf("ec2sim: a parameter needs a name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regions[regionName]
	if r == nil {
		return fmt.Errorf("ec2sim: no region %q", regionName)
	}
	pm := &parameter{seq: s.nextSeq(), name: name, typ: "String", dataType: "text", value: value, version: 1, modified: s.now(), public: true}
	if old := r.params[name]; old != nil {
		pm.seq, pm.version = old.seq, old.version+1
	}
	r.params[name] = pm
	return nil
}
