package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schema compiles one of the JSON Schemas published in docs/schemas.
func schema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(filepath.Join("..", "..", "docs", "schemas", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, what string, doc []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", what, err, doc)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s does not follow its schema: %v\n%s", what, err, doc)
	}
}

// The events of real builds (a bake, then a retag), the plan and the
// manifest follow the schemas published for them.
func TestOutputsFollowTheirSchemas(t *testing.T) {
	t.Parallel()
	events, plan, manifest := schema(t, "events.schema.json"), schema(t, "plan.schema.json"), schema(t, "manifest.schema.json")
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "al2023", source = rootfs(path = "rootfs"))
image(name = "app", parent = ":al2023", provision = [shell(inline = ["echo hi > /hi"])], tags = {"Team": "a"})`,
	})
	eventsFile := filepath.Join(t.TempDir(), "events.jsonl")
	var seen []string
	for i, team := range []string{"a", "b"} {
		writeFiles(t, ws.root, map[string]string{"base/IMAGES.star": strings.Replace(readFile(t, filepath.Join(ws.root, "base/IMAGES.star")),
			`"Team": "a"`, `"Team": "`+team+`"`, 1)})
		r := ws.imgraph(t, nil, "plan", "--output", "json")
		if r.code != exitOK {
			t.Fatalf("plan: %v", r)
		}
		validate(t, plan, "the plan", []byte(r.stdout))
		if r := ws.imgraph(t, nil, "build", "--events", eventsFile); r.code != exitOK {
			t.Fatalf("build %d: %v", i, r)
		}
		data, err := os.ReadFile(eventsFile)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		var first, last string
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			validate(t, events, fmt.Sprintf("build %d's event %d", i, n), []byte(line))
			if first == "" {
				first = line
			}
			last = line
			var e struct{ Type, Action string }
			if json.Unmarshal([]byte(line), &e) == nil && e.Type == "finish" {
				seen = append(seen, e.Action)
			}
		}
		if !strings.Contains(first, `"type":"build_start"`) || !strings.Contains(first, `"schema_version":1`) || !strings.Contains(first, `"command":["imgraph",`) || !strings.Contains(first, `"build","--events"`) {
			t.Errorf("build %d: the first event is %s, want build_start with the schema version and the command line", i, first)
		}
		if !strings.Contains(last, `"type":"build_finish"`) || !strings.Contains(last, `"exit_code":0`) {
			t.Errorf("build %d: the last event is %s, want build_finish with exit code 0", i, last)
		}
		validate(t, manifest, "the manifest", []byte(readFile(t, filepath.Join(ws.root, "imgraph-out", "manifest.json"))))
	}
	// A build of nothing ends as the schema says too.
	if r := ws.imgraph(t, nil, "build", "--events", eventsFile, "--", "//...", "-//base/..."); r.code != exitOK {
		t.Fatalf("a build of nothing: %v", r)
	}
	for i, line := range strings.Split(strings.TrimSpace(readFile(t, eventsFile)), "\n") {
		validate(t, events, fmt.Sprintf("the empty build's event %d", i+1), []byte(line))
	}
	for _, action := range []string{"bake", "publish", "retag"} {
		if !slices.Contains(seen, action) {
			t.Errorf("no %s finished among %q", action, seen)
		}
	}
}

// What gc prints with --output json follows its schema, whether it
// removes (or would remove) something or nothing.
func TestGCOutputFollowsItsSchema(t *testing.T) {
	t.Parallel()
	gc := schema(t, "gc.schema.json")
	ws := newWorkspace(t, nil)
	for _, v := range []string{"1", "2"} {
		writeFiles(t, ws.root, map[string]string{
			"base/IMAGES.star": `image(name = "base", source = rootfs(path = "rootfs"), provision = [shell(inline = ["echo ` + v + ` > /v"])])`,
		})
		if r := ws.imgraph(t, nil, "build"); r.code != exitOK {
			t.Fatalf("build %s: %v", v, r)
		}
	}
	for _, args := range [][]string{
		{"gc", "--output", "json", "--dry-run", "--keep", "0", "--older-than", "0s"},
		{"gc", "--output", "json", "--keep", "0", "--older-than", "0s"},
		{"gc", "--output", "json"},
	} {
		r := ws.imgraph(t, nil, args...)
		if r.code != exitOK {
			t.Fatalf("%s: %v", args, r)
		}
		validate(t, gc, strings.Join(args, " "), []byte(r.stdout))
	}
}
