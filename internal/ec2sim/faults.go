package ec2sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// FaultKind is what a fault does.
type FaultKind string

const (
	// FaultThrottle answers every Every-th matching request with
	// RequestLimitExceeded (HTTP 503; ThrottlingException for SSM), which
	// the SDK retries.
	FaultThrottle FaultKind = "throttle"
	// FaultError answers matching requests with Code (and Message,
	// Status), after letting Skip of them through.
	FaultError FaultKind = "error"
	// FaultInstanceNeverBoots leaves the instances RunInstances launches
	// pending for ever.
	FaultInstanceNeverBoots FaultKind = "instance-never-boots"
	// FaultImageFails makes the images CreateImage starts end failed.
	FaultImageFails FaultKind = "image-fails"
	// FaultCopyFails makes the copies CopyImage starts end failed.
	FaultCopyFails FaultKind = "copy-fails"
	// FaultSSHRefuse makes the SSH server of the instances RunInstances
	// launches reset the first Attempts connections, or every connection
	// for For after it starts listening.
	FaultSSHRefuse FaultKind = "ssh-refuse"
	// FaultSSHHang makes it accept the first Attempts connections and
	// never answer on them.
	FaultSSHHang FaultKind = "ssh-hang"
	// FaultAnswerLost lets matching requests take effect, then holds
	// their answers until the caller gives up (its request's context
	// ends) and drops them: a create call in flight when Ctrl-C lands.
	// Sim.HeldAnswers says when one is held.
	FaultAnswerLost FaultKind = "answer-lost"
	// FaultLateVisibility keeps what matching requests make (instances
	// of RunInstances; images of CreateImage and CopyImage) out of the
	// answers of the next Describes describe calls of their kind in the
	// region: EC2's eventual consistency.
	FaultLateVisibility FaultKind = "late-visibility"
)

// Fault is a failure the simulator injects on demand. Region and Action
// scope it ("" is any); Times bounds how often it fires (0: always) —
// requests for throttle and error, instances or images for the others.
type Fault struct {
	ID      string    `json:"id,omitempty"` // given when it is added
	Kind    FaultKind `json:"kind"`
	Region  string    `json:"region,omitempty"`
	Action  string    `json:"action,omitempty"`
	Times   int       `json:"times,omitempty"`
	Every   int       `json:"every,omitempty"`   // throttle: every Nth matching request (default 1: all)
	Code    string    `json:"code,omitempty"`    // error: the error code, such as UnauthorizedOperation
	Message string    `json:"message,omitempty"` // error
	Status  int       `json:"status,omitempty"`  // error: the HTTP status (default: EC2's for the code)
	Skip    int       `json:"skip,omitempty"`    // error: matching requests let through first
	// Attempts: ssh-refuse and ssh-hang, connections refused per instance.
	Attempts int `json:"attempts,omitempty"`
	// For: ssh-refuse, how long after it starts listening an instance's
	// SSH server refuses (on the simulator's clock).
	For Duration `json:"for,omitempty"`
	// Describes: late-visibility, the describe calls that do not see
	// what a request made (default 3).
	Describes int `json:"describes,omitempty"`
	// Fired counts the times the fault fired (read only).
	Fired int `json:"fired"`

	seen int // matching requests so far
}

// Duration is a time.Duration written in JSON as "30s" (a number is
// seconds).
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil {
			return fmt.Errorf("duration %s: want \"30s\" or seconds", b)
		}
		*d = Duration(f * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// impliedAction is the one action a fault of each instance kind is about.
func impliedAction(k FaultKind) string {
	switch k {
	case FaultInstanceNeverBoots, FaultSSHRefuse, FaultSSHHang:
		return "RunInstances"
	case FaultImageFails:
		return "CreateImage"
	case FaultCopyFails:
		return "CopyImage"
	case FaultNoSpotCapacity:
		return "RunInstances"
	}
	return ""
}

func (f *Fault) check() error {
	if f.Times < 0 || f.Every < 0 || f.Skip < 0 || f.Attempts < 0 || f.For < 0 || f.Describes < 0 {
		return fmt.Errorf("ec2sim: fault %s: negative count", f.Kind)
	}
	switch f.Kind {
	case FaultThrottle:
		if f.Every == 0 {
			f.Every = 1
		}
	case FaultError:
		if f.Code == "" {
			return fmt.Errorf("ec2sim: an error fault needs a code (UnauthorizedOperation, InternalError, …)")
		}
		if f.Status == 0 {
			f.Status = statusOf(f.Code)
		}
		if f.Message == "" {
			f.Message = "An error the simulator was asked to inject (" + f.Code + ")"
		}
	case FaultInstanceNeverBoots, FaultImageFails, FaultCopyFails:
	case FaultSSHRefuse:
		if f.Attempts == 0 && f.For == 0 {
			return fmt.Errorf("ec2sim: an ssh-refuse fault needs attempts or for")
		}
	case FaultSSHHang:
		if f.Attempts == 0 {
			return fmt.Errorf("ec2sim: an ssh-hang fault needs attempts")
		}
	case FaultAnswerLost, FaultNoSpotCapacity:
	case FaultLateVisibility:
		switch f.Action {
		case "RunInstances", "CreateImage", "CopyImage":
		default:
			return fmt.Errorf("ec2sim: a late-visibility fault is about RunInstances, CreateImage or CopyImage, not %q", f.Action)
		}
		if f.Describes == 0 {
			f.Describes = 3
		}
	default:
		return fmt.Errorf("ec2sim: unknown fault kind %q (throttle, error, instance-never-boots, image-fails, copy-fails, ssh-refuse, ssh-hang, answer-lost, late-visibility, no-spot-capacity)", f.Kind)
	}
	if a := impliedAction(f.Kind); a != "" && f.Action != "" && f.Action != a {
		return fmt.Errorf("ec2sim: a %s fault is about %s, not %s", f.Kind, a, f.Action)
	}
	return nil
}

func (f *Fault) matches(region, action string) bool {
	return (f.Region == "" || f.Region == region) && (f.Action == "" || f.Action == action)
}

func (f *Fault) exhausted() bool { return f.Times > 0 && f.Fired >= f.Times }

// AddFault puts a fault in force and returns it with its id.
func (s *Sim) AddFault(f Fault) (Fault, error) {
	if err := f.check(); err != nil {
		return Fault{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultSeq++
	f.ID = "fault-" + strconv.Itoa(s.faultSeq)
	f.Fired, f.seen = 0, 0
	s.faults = append(s.faults, &f)
	return f, nil
}

// Faults are the faults in force, with how often each fired.
func (s *Sim) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// RemoveFault takes one fault out of force.
func (s *Sim) RemoveFault(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.ID == id {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return true
		}
	}
	return false
}

// ClearFaults takes every fault out of force.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// requestFault is the error a request of action meets, if a throttle or
// error fault fires on it.
func (s *Sim) requestFault(region, action string, ssm bool) *apiError {
	for _, f := range s.faults {
		if !f.matches(region, action) {
			continue
		}
		switch f.Kind {
		case FaultThrottle:
			f.seen++
			if f.seen%f.Every != 0 || f.exhausted() {
				continue
			}
			f.Fired++
			if ssm {
				return &apiError{Code: "ThrottlingException", Message: "Rate exceeded", Status: http.StatusBadRequest}
			}
			return newError("RequestLimitExceeded", "Request limit exceeded.")
		case FaultError:
			f.seen++
			if f.seen <= f.Skip || f.exhausted() {
				continue
			}
			f.Fired++
			return &apiError{Code: f.Code, Message: f.Message, Status: f.Status}
		}
	}
	return nil
}

// takeFault fires the first fault of kind in force in region, if any.
func (s *Sim) takeFault(kind FaultKind, region string) *Fault {
	return s.takeActionFault(kind, region, impliedAction(kind))
}

// takeActionFault fires the first fault of kind in force for action in
// region, if any.
func (s *Sim) takeActionFault(kind FaultKind, region, action string) *Fault {
	for _, f := range s.faults {
		if f.Kind == kind && f.matches(region, action) && !f.exhausted() {
			f.Fired++
			return f
		}
	}
	return nil
}

// lateVisibility is how many describe calls will not see what a request
// of action makes in region (0: all of them will).
func (s *Sim) lateVisibility(region, action string) int {
	if f := s.takeActionFault(FaultLateVisibility, region, action); f != nil {
		return f.Describes
	}
	return 0
}

// Settle waits until no request is being served: what a client asked for
// before it was killed has then taken effect, as it has by the time a
// user looks. (A request still on its way in, not yet read, is not
// waited for.)
func (s *Sim) Settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.active > 0 {
		s.idle.Wait()
	}
}

// HeldAnswers receives the action of every request whose answer an
// answer-lost fault holds, once it took effect.
func (s *Sim) HeldAnswers() <-chan string { return s.held }

// sshFaults are how an instance's SSH server misbehaves.
type sshFaults struct {
	refuse    int           // connections reset
	refuseFor time.Duration // every connection reset for this long after listening starts
	hang      int           // connections accepted and never answered
}

func (s *Sim) takeSSHFaults(region string) sshFaults {
	var out sshFaults
	if f := s.takeFault(FaultSSHRefuse, region); f != nil {
		out.refuse, out.refuseFor = f.Attempts, time.Duration(f.For)
	}
	if f := s.takeFault(FaultSSHHang, region); f != nil {
		out.hang = f.Attempts
	}
	return out
}

// servePostFaults adds the fault (or the array of faults) in the body.
func (s *Sim) servePostFaults(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	var faults []Fault
	body = bytes.TrimSpace(body)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if bytes.HasPrefix(body, []byte("[")) {
		err = dec.Decode(&faults)
	} else {
		var f Fault
		err = dec.Decode(&f)
		faults = []Fault{f}
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "reading the fault: " + err.Error()})
		return
	}
	for _, f := range faults {
		if err := f.check(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
	}
	added := make([]Fault, 0, len(faults))
	for _, f := range faults {
		a, err := s.AddFault(f)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		added = append(added, a)
	}
	writeJSON(w, http.StatusOK, added)
}
