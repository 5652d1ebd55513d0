package query

import "testing"

func TestKind(t *testing.T) {
	runEvalCases(t, []evalCase{
		{expr: `kind("source file", //...:*)`, want: allFiles},
		{expr: "kind(file, //...:*)", want: allFiles}, // unanchored
		{expr: "kind(image, //apps/api:*)", want: []string{"//apps/api:api"}},
		{expr: "kind('image rule', //...:*)", want: allImages},
		{expr: "kind('^rule$', //...:*)", want: []string{}},
		{expr: "kind(rule, deps(//apps/web))", want: []string{"//apps/web:web", "//platform/java:jre21", "//base:al2023"}},
	})
}

func TestAttr(t *testing.T) {
	runEvalCases(t, []evalCase{
		{expr: "attr(regions, eu-west-1, //...)", want: []string{"//base:ubuntu", "//platform/java:jre17", "//apps/api:api"}},
		{expr: `attr(regions, '^\[us-east-1\]$', //...)`, want: []string{"//base:al2023"}},
		{expr: "attr(salt, ., //...:*)", want: []string{"//base:al2023"}},
		{expr: `attr(salt, "", //...:*)`, want: []string{"//base:al2023"}}, // files have no attributes
		{expr: `attr(description, "API server", //...)`, want: []string{"//apps/api:api"}},
		{expr: "attr(description, server, //apps/web + //base:al2023)", want: []string{}},
	})
}

func TestFilter(t *testing.T) {
	runEvalCases(t, []evalCase{
		{expr: `filter('\.sh$', //...:*)`, want: []string{"//base:harden.sh", "//apps/api:install.sh", "//common:scripts/setup.sh"}},
		{expr: "filter(java, //...)", want: []string{"//platform/java:jre17", "//platform/java:jre21"}},
		{expr: "filter(//apps, //...)", want: []string{"//apps-extra:tool", "//apps/api:api", "//apps/web:web", "//apps/worker:worker"}},
		{expr: "filter('^//apps/', //...)", want: []string{"//apps/api:api", "//apps/web:web", "//apps/worker:worker"}},
		{expr: "filter(:api$, deps(//apps/api))", want: []string{"//apps/api:api"}}, // the canonical //pkg:name form
		{expr: "filter(nothing, //...)", want: []string{}},
	})
}
