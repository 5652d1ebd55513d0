package ec2sim

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// call is one API request being served, with the simulator's lock held.
type call struct {
	sim      *Sim
	region   *region
	action   string
	params   params // EC2's form; SSM's body is decoded by its handler
	body     []byte
	host     string // the Host the request was sent to (SSM): where a session's data channel is
	seq      uint64 // the request's number
	now      time.Time
	describe bool // a Describe call: with TimeFactor 0, transitions happen on these
}

type handler func(c *call) (any, *apiError)

// ec2Actions are the EC2 actions the simulator serves.
var ec2Actions = map[string]handler{
	"RunInstances":                   runInstances,
	"DescribeInstances":              describeInstances,
	"StopInstances":                  stopInstances,
	"StartInstances":                 startInstances,
	"TerminateInstances":             terminateInstances,
	"DescribeVolumes":                describeVolumes,
	"DeleteVolume":                   deleteVolume,
	"DescribeSnapshots":              describeSnapshots,
	"DeleteSnapshot":                 deleteSnapshot,
	"CreateImage":                    createImage,
	"DescribeImages":                 describeImages,
	"CopyImage":                      copyImage,
	"DeregisterImage":                deregisterImage,
	"RegisterImage":                  registerImage,
	"ModifyImageAttribute":           modifyImageAttribute,
	"DescribeImageAttribute":         describeImageAttribute,
	"DescribeInstanceAttribute":      describeInstanceAttribute,
	"ImportKeyPair":                  importKeyPair,
	"CreateKeyPair":                  createKeyPair,
	"DeleteKeyPair":                  deleteKeyPair,
	"DescribeKeyPairs":               describeKeyPairs,
	"CreateSecurityGroup":            createSecurityGroup,
	"AuthorizeSecurityGroupIngress":  authorizeSecurityGroupIngress,
	"RevokeSecurityGroupIngress":     revokeSecurityGroupIngress,
	"DeleteSecurityGroup":            deleteSecurityGroup,
	"DescribeSecurityGroups":         describeSecurityGroups,
	"DescribeVpcs":                   describeVpcs,
	"DescribeSubnets":                describeSubnets,
	"DescribeRegions":                describeRegions,
	"DescribeAvailabilityZones":      describeAvailabilityZones,
	"CreateLaunchTemplate":           createLaunchTemplate,
	"CreateLaunchTemplateVersion":    createLaunchTemplateVersion,
	"ModifyLaunchTemplate":           modifyLaunchTemplate,
	"DeleteLaunchTemplate":           deleteLaunchTemplate,
	"DescribeLaunchTemplates":        describeLaunchTemplates,
	"DescribeLaunchTemplateVersions": describeLaunchTemplateVersions,
	"EnableImageDeprecation":         enableImageDeprecation,
	"DisableImageDeprecation":        disableImageDeprecation,
	"CreateTags":                     createTags,
	"DeleteTags":                     deleteTags,
	"DescribeTags":                   describeTags,
	"DescribeInstanceTypes":          describeInstanceTypes,
	"DescribeInstanceStatus":         describeInstanceStatus,
	"GetConsoleOutput":               getConsoleOutput,
	"CreateSnapshot":                 createSnapshot,
	"DescribeSnapshotAttribute":      describeSnapshotAttribute,
	"ModifySnapshotAttribute":        modifySnapshotAttribute,
	"DescribeAddresses":              describeAddresses,
	"DescribeNetworkInterfaces":      describeNetworkInterfaces,
}

// Handler serves the EC2 and SSM APIs and the /_sim/ inspection and fault
// endpoints; Start serves it, but it may be mounted elsewhere.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("GET /_sim/calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Calls())
	})
	mux.HandleFunc("DELETE /_sim/calls", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/throttled", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Throttled())
	})
	mux.HandleFunc("DELETE /_sim/throttled", func(w http.ResponseWriter, r *http.Request) {
		s.ResetThrottled()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /_sim/faults", s.servePostFaults)
	mux.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_sim/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !s.RemoveFault(r.PathValue("id")) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no fault " + r.PathValue("id")})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/_sim/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{
			"error": "unknown: the simulator serves GET /_sim/state, GET|DELETE /_sim/calls, GET|DELETE /_sim/throttled, GET|POST|DELETE /_sim/faults",
		})
	})
	mux.HandleFunc("GET /v1/data-channel/{id}", s.serveDataChannel)
	mux.HandleFunc("/", s.serveAPI)
	return mux
}

func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request) {
	arrived := s.now() // the rate limits' buckets refill on the simulator's clock
	requestID := newRequestID()
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		s.serveSSM(w, r, target, requestID)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeXMLError(w, requestID, newError("MalformedQueryString", "%v", err))
		return
	}
	action := r.Form.Get("Action")
	if action == "" {
		writeXMLError(w, requestID, newError("MissingAction", "The request must contain the parameter Action"))
		return
	}
	regionName, aerr := requestRegion(r)
	if aerr != nil {
		writeXMLError(w, requestID, aerr)
		return
	}
	p := params{form: r.Form}
	lost := false
	body, aerr := s.dispatch(regionName, action, &p, arrived, func(c *call) (any, *apiError) {
		c.params = p
		h := ec2Actions[action]
		if h == nil {
			return nil, newError("InvalidAction", "The action %s is not valid for this web service.", action)
		}
		if dry, _, _ := p.boolean("DryRun"); dry {
			return nil, newError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
		}
		body, err := h(c)
		lost = err == nil && s.takeActionFault(FaultAnswerLost, regionName, action) != nil
		return body, err
	})
	if lost {
		// It took effect; its caller never hears of it.
		select {
		case s.held <- action:
		default:
		}
		<-r.Context().Done()
		return
	}
	if aerr != nil {
		writeXMLError(w, requestID, aerr)
		return
	}
	writeXML(w, action, requestID, body)
}

// dispatch serves one request of action in a region: it counts it, applies
// the rate limits (to an EC2 request, whose form is p, arrived then; p is
// nil for SSM) and the faults in force, lets time pass, and runs h.
func (s *Sim) dispatch(regionName, action string, p *params, arrived time.Time, h handler) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, newError("Unavailable", "The service is unavailable (the simulator is closing)")
	}
	r := s.regions[regionName]
	if r == nil {
		return nil, newError("OptInRequired", "The simulator has no region %q (it has: %s)", regionName, strings.Join(s.order, ", "))
	}
	// Close waits for requests in flight: a handler may release the lock
	// while it copies a tree.
	s.inflight.Add(1)
	defer s.inflight.Done()
	s.active++
	defer func() {
		// (With the lock held: dispatch's unlock was deferred first.)
		if s.active--; s.active == 0 {
			s.idle.Broadcast()
		}
	}()
	s.reqSeq++
	if s.calls[regionName] == nil {
		s.calls[regionName] = map[string]int{}
	}
	s.calls[regionName][action]++
	if p != nil {
		if err := s.rateLimit(regionName, action, *p, arrived); err != nil {
			return nil, err
		}
	}
	if err := s.requestFault(regionName, action, p == nil); err != nil {
		return nil, err
	}
	c := &call{sim: s, region: r, action: action, seq: s.reqSeq, now: s.now(), describe: strings.HasPrefix(action, "Describe")}
	s.advance(c)
	return h(c)
}

// advance moves every resource of the call's region whose transition is
// due to its next state.
func (s *Sim) advance(c *call) {
	for _, in := range byOrder(c.region.instances) {
		c.advanceInstance(in)
	}
	for _, im := range byOrder(c.region.images) {
		c.advanceImage(im)
	}
	for _, sn := range byOrder(c.region.snapshots) {
		c.advanceSnapshot(sn)
	}
}

// credentialScope finds the region in a SigV4 Authorization header:
// Credential=AKID/20261122/us-east-1/ec2/aws4_request.
var credentialScope = regexp.MustCompile(`Credential=[^/,\s]*/\d{8}/([^/,\s]+)/[^/,\s]+/aws4_request`)

// requestRegion is the region a request was signed for: one endpoint
// serves every region, as the SDK's AWS_ENDPOINT_URL has it.
func requestRegion(r *http.Request) (string, *apiError) {
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1], nil
	}
	// A presigned request carries its scope in the query.
	if parts := strings.Split(r.URL.Query().Get("X-Amz-Credential"), "/"); len(parts) == 5 {
		return parts[2], nil
	}
	return "", newError("MissingAuthenticationToken", "Request is missing Authentication Token (the simulator reads the region from the SigV4 credential scope; use any credentials)")
}

// ordered is a resource that knows its place in creation order.
type ordered interface{ order() uint64 }

// byOrder lists m's values in creation order.
func byOrder[T ordered](m map[string]T) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].order() < out[j].order() })
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

// readBody reads a request body of reasonable size.
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 16<<20))
}
