package query

import "testing"

func TestOperators(t *testing.T) {
	apps := []string{"//apps/api:api", "//apps/web:web", "//apps/worker:worker"}
	runEvalCases(t, []evalCase{
		{expr: "//apps/... + //base:al2023", want: append(apps, "//base:al2023")},
		{expr: "//apps/... union //base:al2023", want: append(apps, "//base:al2023")},
		{expr: "//apps/... - //apps/worker", want: []string{"//apps/api:api", "//apps/web:web"}},
		{expr: "//apps/... except //apps/worker", want: []string{"//apps/api:api", "//apps/web:web"}},
		{expr: "//apps/... ^ //apps/api:*", want: []string{"//apps/api:api"}},
		{expr: "//apps/... intersect //apps/api:*", want: []string{"//apps/api:api"}},
		{expr: "//... -//legacy/...", want: []string{ // '-' starting a token is the operator
			"//apps-extra:tool", "//apps/api:api", "//apps/web:web", "//apps/worker:worker",
			"//base:al2023", "//base:ubuntu", "//platform/java:jre17", "//platform/java:jre21",
		}},

		// One precedence, left to right: a + b - c is (a + b) - c ...
		{expr: "//apps/... + //base/... - //apps/...", want: []string{"//base:al2023", "//base:ubuntu"}},
		{expr: "(//apps/... + //base/...) - //apps/...", want: []string{"//base:al2023", "//base:ubuntu"}},
		{expr: "//apps/... + (//base/... - //apps/...)", want: append(apps, "//base:al2023", "//base:ubuntu")},
		// ... and a - b + c is (a - b) + c, not a - (b + c).
		{expr: "//apps/... - //apps/... + //base:ubuntu", want: []string{"//base:ubuntu"}},
		{expr: "//apps/... - (//apps/... + //base:ubuntu)", want: []string{}},
		// ^ binds no tighter than +, and + no tighter than ^.
		{expr: "//apps/... ^ //apps/api + //base:ubuntu", want: []string{"//apps/api:api", "//base:ubuntu"}},
		{expr: "//base:ubuntu + //apps/... ^ //apps/api", want: []string{"//apps/api:api"}},
		{expr: "//base:ubuntu + (//apps/... ^ //apps/api)", want: []string{"//apps/api:api", "//base:ubuntu"}},
		{expr: "//apps/... except //apps/api union //base:ubuntu", want: []string{"//apps/web:web", "//apps/worker:worker", "//base:ubuntu"}},
		{expr: "//apps/... - (//apps/api + //apps/web)", want: []string{"//apps/worker:worker"}},
		{expr: "((//apps/api))", want: []string{"//apps/api:api"}},
	})
}
