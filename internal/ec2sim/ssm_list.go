package ec2sim

import (
	"slices"
	"strconv"
	"strings"
)

// parameterFilter is one of ParameterFilters.
type parameterFilter struct {
	Key    string   `json:"Key"`
	Option string   `json:"Option"`
	Values []string `json:"Values"`
}

// parameterFilters checks filters against the keys an action takes
// (byPath: GetParametersByPath's, which has no Name or Path filter).
func parameterFilters(fs []parameterFilter, byPath bool) *apiError {
	for _, f := range fs {
		keys := []string{"Name", "Type", "KeyId", "Path", "DataType", "Tier"}
		if byPath {
			keys = []string{"Type", "KeyId", "DataType"}
		}
		if !slices.Contains(keys, f.Key) {
			return newError("InvalidFilterKey", "The following filter key is not valid: %s (the simulator filters by %s)", f.Key, strings.Join(keys, ", "))
		}
		options := []string{"Equals", "BeginsWith"}
		switch f.Key {
		case "Path":
			options = []string{"Recursive", "OneLevel"}
		case "Type", "KeyId", "DataType", "Tier":
			options = []string{"Equals"}
		}
		if f.Option != "" && !slices.Contains(options, f.Option) {
			return newError("InvalidFilterOption", "The specified filter option is not valid. Valid options are Equals and BeginsWith. For Path filter, valid options are Recursive and OneLevel.")
		}
		if len(f.Values) == 0 && f.Key != "Path" {
			return newError("InvalidFilterValue", "The filter %s needs at least one value.", f.Key)
		}
	}
	return nil
}

// under reports whether name lies below path: one level down, or any.
func under(name, path string, recursive bool) bool {
	if !strings.HasPrefix(name, "/") {
		return false
	}
	prefix := strings.TrimSuffix(path, "/") + "/"
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || rest == "" {
		return false
	}
	return recursive || !strings.Contains(rest, "/")
}

func (pm *parameter) matches(f parameterFilter) bool {
	field := map[string]string{"Name": pm.name, "Type": pm.typ, "DataType": pm.dataType, "Tier": "Standard", "KeyId": ""}[f.Key]
	if f.Key == "KeyId" && pm.typ == "SecureString" {
		field = "alias/aws/ssm"
	}
	if f.Key == "Path" {
		for _, v := range cmpOrList(f.Values, "/") {
			if under(pm.name, v, f.Option == "Recursive") {
				return true
			}
		}
		return false
	}
	for _, v := range f.Values {
		if field == v || (f.Option == "BeginsWith" && strings.HasPrefix(field, v)) {
			return true
		}
		if f.Key == "Name" && f.Option != "BeginsWith" && strings.TrimPrefix(field, "/") == strings.TrimPrefix(v, "/") {
			return true
		}
	}
	return false
}

func cmpOrList(v []string, def string) []string {
	if len(v) == 0 {
		return []string{def}
	}
	return v
}

// page cuts names (sorted) at NextToken, an index the simulator gave.
func page[T any](items []T, token string, max, limit int) ([]T, string, *apiError) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", newError("InvalidNextToken", "The specified token is not valid.")
		}
		start = n
	}
	if max == 0 {
		max = limit
	}
	end := min(start+max, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

// listed are the region's parameters that match every filter, by name.
func (c *call) listed(keep func(*parameter) bool) []*parameter {
	var out []*parameter
	for _, pm := range c.region.params {
		if keep(pm) {
			out = append(out, pm)
		}
	}
	slices.SortFunc(out, func(a, b *parameter) int { return strings.Compare(a.name, b.name) })
	return out
}

func getParametersByPath(c *call) (any, *apiError) {
	var in struct {
		Path             string
		Recursive        bool
		WithDecryption   bool
		ParameterFilters []parameterFilter
		MaxResults       int
		NextToken        string
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.Path == "" {
		return nil, validation("1 validation error detected: Value null at 'path' failed to satisfy constraint: Member must not be null")
	}
	if !strings.HasPrefix(in.Path, "/") || len(in.Path) > 2048 || (in.Path != "/" && !parameterName.MatchString(in.Path)) {
		return nil, validation("The parameter path %s is not valid: a path begins with a forward slash (/)", in.Path)
	}
	if in.MaxResults < 0 || in.MaxResults > 10 {
		return nil, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10", in.MaxResults)
	}
	if err := parameterFilters(in.ParameterFilters, true); err != nil {
		return nil, err
	}
	all := c.listed(func(pm *parameter) bool {
		if !under(pm.name, in.Path, in.Recursive) {
			return false
		}
		for _, f := range in.ParameterFilters {
			if !pm.matches(f) {
				return false
			}
		}
		return true
	})
	items, next, err := page(all, in.NextToken, in.MaxResults, 10)
	if err != nil {
		return nil, err
	}
	out := []parameterJSON{}
	for _, pm := range items {
		out = append(out, c.parameterJSON(pm, ""))
	}
	resp := map[string]any{"Parameters": out}
	if next != "" {
		resp["NextToken"] = next
	}
	return resp, nil
}

// parameterMetadataJSON is a parameter as DescribeParameters writes it.
type parameterMetadataJSON struct {
	ARN              string  `json:"ARN"`
	Name             string  `json:"Name"`
	Type             string  `json:"Type"`
	DataType         string  `json:"DataType"`
	Description      string  `json:"Description,omitempty"`
	KeyID            string  `json:"KeyId,omitempty"`
	LastModifiedDate float64 `json:"LastModifiedDate"`
	LastModifiedUser string  `json:"LastModifiedUser"`
	Version          int64   `json:"Version"`
	Tier             string  `json:"Tier"`
	Policies         []any   `json:"Policies"`
}

func describeParameters(c *call) (any, *apiError) {
	var in struct {
		Filters          []struct{ Key string }
		ParameterFilters []parameterFilter
		MaxResults       int
		NextToken        string
		Shared           bool
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.Filters) > 0 {
		return nil, validation("The simulator takes ParameterFilters, not the older Filters")
	}
	if in.MaxResults < 0 || in.MaxResults > 50 {
		return nil, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50", in.MaxResults)
	}
	if err := parameterFilters(in.ParameterFilters, false); err != nil {
		return nil, err
	}
	all := c.listed(func(pm *parameter) bool {
		if pm.public || in.Shared {
			return false // public parameters are not listed; none is shared with the account
		}
		for _, f := range in.ParameterFilters {
			if !pm.matches(f) {
				return false
			}
		}
		return true
	})
	items, next, err := page(all, in.NextToken, in.MaxResults, 50)
	if err != nil {
		return nil, err
	}
	out := []parameterMetadataJSON{}
	for _, pm := range items {
		j := c.parameterJSON(pm, "")
		m := parameterMetadataJSON{
			ARN: j.ARN, Name: pm.name, Type: pm.typ, DataType: pm.dataType, Description: pm.description,
			LastModifiedDate: j.LastModifiedDate, LastModifiedUser: "arn:aws:iam::" + Account + ":user/imgraph",
			Version: pm.version, Tier: "Standard", Policies: []any{},
		}
		if pm.typ == "SecureString" {
			m.KeyID = "alias/aws/ssm"
		}
		out = append(out, m)
	}
	resp := map[string]any{"Parameters": out}
	if next != "" {
		resp["NextToken"] = next
	}
	return resp, nil
}
