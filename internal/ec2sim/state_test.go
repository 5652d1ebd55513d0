//go:build linux

package ec2sim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func TestTimeFactor(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	w := newWorld(t, ec2sim.Options{TimeFactor: 0.1, Now: clk.Now})
	c := w.ec2(home)
	id := w.run(home, w.base, "")
	if in := w.instance(home, id); in.State.Name != types.InstanceStateNamePending {
		t.Fatalf("before its boot delay the instance is %s", in.State.Name)
	}
	clk.Add(1499 * time.Millisecond)
	if in := w.instance(home, id); in.State.Name != types.InstanceStateNamePending {
		t.Fatalf("1.499s in (boot takes 15s × 0.1) the instance is %s", in.State.Name)
	}
	clk.Add(time.Millisecond)
	if in := w.instance(home, id); in.State.Name != types.InstanceStateNameRunning || *in.LaunchTime != time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) {
		t.Fatalf("at 1.5s the instance is %s (launched %v)", in.State.Name, in.LaunchTime)
	}
	c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	clk.Add(2 * time.Second)
	// Inspection sees the transitions that are due, with a time factor.
	if st := w.sim.State().Regions[home].Instances[0]; st.State != "stopped" {
		t.Fatalf("2s after StopInstances the state shows %s", st.State)
	}
	img := must[*ec2.CreateImageOutput](t)(c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String("slow")}))
	clk.Add(5 * time.Second)
	if im := w.image(home, *img.ImageId); im.State != types.ImageStatePending || *im.CreationDate != "2026-11-22T10:00:03.500Z" {
		t.Fatalf("5s into a 6s image: %s, created %s", im.State, *im.CreationDate)
	}
	clk.Add(time.Second)
	if im := w.image(home, *img.ImageId); im.State != types.ImageStateAvailable {
		t.Fatalf("6s into a 6s image: %s", im.State)
	}
}

func TestStateAndCallsOverHTTP(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	w.newKey(home, "k")
	id := w.run(home, w.base, "k")
	c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{tag("imgraph:run", "r9")}})

	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(w.endpoint + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %s %s", path, resp.Status, resp.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var st ec2sim.State
	get("/_sim/state", &st)
	r := st.Regions[home]
	if r == nil || len(st.Regions) != 2 {
		t.Fatalf("state regions %v", st.Regions)
	}
	if len(r.Instances) != 1 || r.Instances[0].ID != id || r.Instances[0].State != "pending" || r.Instances[0].Tags["imgraph:run"] != "r9" ||
		r.Instances[0].KeyName != "k" || len(r.Instances[0].Volumes) != 1 || r.Instances[0].Address != "127.0.0.2" {
		t.Errorf("state instances %+v", r.Instances)
	}
	if len(r.Images) != 1 || r.Images[0].ID != w.base || r.Images[0].State != "available" || r.Images[0].Owner != "137112412989" {
		t.Errorf("state images %+v", r.Images)
	}
	if len(r.Volumes) != 1 || r.Volumes[0].InstanceID != id || r.Volumes[0].State != "in-use" || len(r.KeyPairs) != 1 ||
		len(r.SecurityGroups) != 1 || r.SecurityGroups[0].Name != "default" || len(r.Snapshots) != 1 {
		t.Errorf("state %+v", r)
	}
	var calls map[string]map[string]int
	get("/_sim/calls", &calls)
	if calls[home]["RunInstances"] != 1 || calls[home]["ImportKeyPair"] != 1 || calls[home]["CreateTags"] != 1 {
		t.Errorf("calls %v", calls)
	}
	req, _ := http.NewRequest(http.MethodDelete, w.endpoint+"/_sim/calls", nil)
	http.DefaultClient.Do(req)
	if n := len(w.sim.Calls()); n != 0 {
		t.Errorf("calls after DELETE: %v", w.sim.Calls())
	}
}

// post sends a raw Query API request signed for region, as the SDK would
// (the simulator reads only the credential scope).
func post(t *testing.T, endpoint, region string, form url.Values) (int, string) {
	t.Helper()
	form.Set("Version", "2016-11-15")
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if region != "" {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261122/"+region+"/ec2/aws4_request, SignedHeaders=host, Signature=0")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestWireFormat(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	status, body := post(t, w.endpoint, home, url.Values{"Action": {"DescribeRegions"}})
	if status != 200 || !strings.Contains(body, `<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`) ||
		!strings.Contains(body, "<regionInfo><item><regionName>us-east-1</regionName>") {
		t.Errorf("DescribeRegions: %d %s", status, body)
	}
	status, body = post(t, w.endpoint, home, url.Values{"Action": {"RunInstances"}, "ImageId": {w.base}, "MinCount": {"1"}})
	if status != 400 || !strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>MissingParameter</Code><Message>The request must contain the parameter MaxCount</Message></Error></Errors><RequestID>`) {
		t.Errorf("RunInstances without MaxCount: %d %s", status, body)
	}
	status, body = post(t, w.endpoint, home, url.Values{"Action": {"DescribeNothing"}})
	if status != 400 || !strings.Contains(body, "<Code>InvalidAction</Code>") {
		t.Errorf("an unknown action: %d %s", status, body)
	}
	status, body = post(t, w.endpoint, "", url.Values{"Action": {"DescribeRegions"}})
	if status != 401 || !strings.Contains(body, "<Code>MissingAuthenticationToken</Code>") {
		t.Errorf("an unsigned request: %d %s", status, body)
	}
	status, body = post(t, w.endpoint, home, url.Values{"Action": {"DescribeRegions"}, "DryRun": {"true"}})
	if status != 412 || !strings.Contains(body, "<Code>DryRunOperation</Code>") {
		t.Errorf("a dry run: %d %s", status, body)
	}
	w.sim.AddFault(ec2sim.Fault{Kind: ec2sim.FaultThrottle})
	status, body = post(t, w.endpoint, home, url.Values{"Action": {"DescribeRegions"}})
	if status != 503 || !strings.Contains(body, "<Code>RequestLimitExceeded</Code>") {
		t.Errorf("a throttled request: %d %s", status, body)
	}
	w.sim.ClearFaults()

	// The list forms EC2 reads: Filter.N.Value.M, in index order.
	status, body = post(t, w.endpoint, home, url.Values{"Action": {"DescribeImages"},
		"Filter.2.Name": {"name"}, "Filter.2.Value.1": {"nothing"}, "Filter.2.Value.7": {"al2023-*"},
		"Filter.1.Name": {"owner-alias"}, "Filter.1.Value.1": {"amazon"}})
	if status != 200 || !strings.Contains(body, "<imageId>"+w.base+"</imageId>") {
		t.Errorf("DescribeImages with sparse indices: %d %s", status, body)
	}
}

func TestPagination(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	for i := 0; i < 5; i++ {
		w.run(home, w.base, "")
	}
	var ids []string
	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				ids = append(ids, *in.InstanceId)
			}
		}
	}
	if pages != 3 || len(ids) != 5 {
		t.Errorf("%d pages, %d instances; want 3 and 5", pages, len(ids))
	}
}
