package query

import "testing"

func TestLet(t *testing.T) {
	runEvalCases(t, []evalCase{
		{expr: "let v = //apps/... in $v - //apps/worker", want: []string{"//apps/api:api", "//apps/web:web"}},
		{expr: "let v = //apps/api in let w = deps($v, 1) in $w ^ //base:*", want: []string{"//base:harden.sh"}},
		// An inner binding hides the outer one only inside its body.
		{expr: "let v = //apps/api in (let v = //apps/web in $v) + $v", want: []string{"//apps/api:api", "//apps/web:web"}},
		{expr: "let v = //apps/api in $v + $v", want: []string{"//apps/api:api"}},
		{expr: "let base = //base:al2023 in rdeps(//..., $base, 1) - $base", want: []string{
			"//platform/java:jre17", "//platform/java:jre21", "//apps-extra:tool",
		}},
		{expr: "(let v = //apps/api in $v) + //base:ubuntu", want: []string{"//apps/api:api", "//base:ubuntu"}},
		{expr: "//base:ubuntu + let v = //apps/api in $v", want: []string{"//apps/api:api", "//base:ubuntu"}},
		// The body of a let reaches as far right as it can.
		{expr: "let v = //apps/... in $v ^ //apps/api + //base:ubuntu", want: []string{"//apps/api:api", "//base:ubuntu"}},
		{expr: "let set = //apps/api in $set", want: []string{"//apps/api:api"}}, // function names are no keywords
	})
}

func TestSet(t *testing.T) {
	runEvalCases(t, []evalCase{
		{expr: "set(//apps/api //base:ubuntu)", want: []string{"//apps/api:api", "//base:ubuntu"}},
		{expr: "set()", want: []string{}},
		{expr: `set('//apps/api' "//base:harden.sh" //apps/api)`, want: []string{"//apps/api:api", "//base:harden.sh"}},
		{expr: "set(//apps/... :harden.sh)", cwd: "base", want: []string{
			"//apps/api:api", "//apps/web:web", "//apps/worker:worker", "//base:harden.sh",
		}},
		{expr: "deps(set(//apps/worker //legacy/old:old), 1)", want: []string{
			"//apps/worker:worker", "//legacy/old:old", "//base:ubuntu",
		}},
		{expr: "set(//apps/...) - set(//apps/api)", want: []string{"//apps/web:web", "//apps/worker:worker"}},
	})
}
