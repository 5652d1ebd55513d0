package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
)

func writeQuery(t *testing.T, format, expr string) string {
	t.Helper()
	u := testUniverse()
	e, err := Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := Eval(context.Background(), u, e, "")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, format, u, nodes); err != nil {
		t.Fatalf("Write(%s): %v", format, err)
	}
	return b.String()
}

func TestWrite(t *testing.T) {
	tests := []struct {
		format, expr, want string
	}{
		{"label", "deps(//apps/web, 1)", "//apps/web:web\n//base:harden.sh\n//platform/java:jre21\n"},
		{"label", "set()", ""},
		{"label_kind", "deps(//apps/web, 1)", "image rule //apps/web:web\nsource file //base:harden.sh\nimage rule //platform/java:jre21\n"},
		// Only edges between nodes of the result: jre21 -> al2023 is left out.
		{"graph", "deps(//apps/web, 1)", `digraph imgraph {
  node [shape=box];
  "//apps/web:web"
  "//base:harden.sh"
  "//platform/java:jre21"
  "//apps/web:web" -> "//base:harden.sh"
  "//apps/web:web" -> "//platform/java:jre21"
}
`},
		{"graph", "set()", "digraph imgraph {\n  node [shape=box];\n}\n"},
		{"json", "//legacy/old + //base:harden.sh", `[
  {
    "label": "//base:harden.sh",
    "kind": "source file",
    "deps": [],
    "attrs": {}
  },
  {
    "label": "//legacy/old:old",
    "kind": "image rule",
    "deps": [
      "//base:ubuntu",
      "//nowhere:missing"
    ],
    "attrs": {}
  }
]
`},
		{"json", "set()", "[]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.expr, func(t *testing.T) {
			if got := writeQuery(t, tt.format, tt.expr); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestWriteJSONAttrs(t *testing.T) {
	out := writeQuery(t, "json", "//apps/api")
	var got []struct {
		Label string            `json:"label"`
		Kind  string            `json:"kind"`
		Deps  []string          `json:"deps"`
		Attrs map[string]string `json:"attrs"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	if len(got) != 1 || got[0].Attrs["regions"] != "[us-east-1, eu-west-1]" || got[0].Attrs["description"] != "API server" ||
		len(got[0].Deps) != 4 || got[0].Deps[0] != "//platform/java:jre17" {
		t.Errorf("json = %+v", got)
	}
}

// TestWriteSorts checks that Write orders and deduplicates nodes given in any order.
func TestWriteSorts(t *testing.T) {
	u := testUniverse()
	web, _ := u.Lookup(mustLabel("//apps/web:web"))
	api, _ := u.Lookup(mustLabel("//apps/api:api"))
	var b bytes.Buffer
	if err := Write(&b, "label", u, []*Node{web, api, web}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "//apps/api:api\n//apps/web:web\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	err := Write(&bytes.Buffer{}, "xml", testUniverse(), nil)
	var qe *Error
	if !errors.As(err, &qe) {
		t.Fatalf("Write(xml) = %v, want a *query.Error", err)
	}
	if want := `unknown output format "xml"; want one of label, label_kind, graph, json`; qe.Msg != want {
		t.Errorf("message %q, want %q", qe.Msg, want)
	}
}
