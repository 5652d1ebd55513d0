package query

import "testing"

// deps of //apps/api, level by level from it.
var (
	apiDeps0 = []string{"//apps/api:api"}
	apiDeps1 = append(apiDeps0, "//platform/java:jre17", "//apps/api:install.sh", "//apps/api:files/api.service", "//base:harden.sh")
	apiDeps2 = append(apiDeps1, "//base:al2023", "//common:scripts/setup.sh")
	apiDeps3 = append(apiDeps2, "//base:files/motd")
)

func TestDeps(t *testing.T) {
	runEvalCases(t, []evalCase{
		{expr: "deps(//apps/api)", want: apiDeps3},
		{expr: "deps(//apps/api, 0)", want: apiDeps0},
		{expr: "deps(//apps/api, 1)", want: apiDeps1},
		{expr: "deps(//apps/api, 2)", want: apiDeps2},
		{expr: "deps(//apps/api, 3)", want: apiDeps3},
		{expr: "deps(//apps/api, 1000)", want: apiDeps3},
		{expr: "deps(//base:harden.sh)", want: []string{"//base:harden.sh"}},
		{expr: "deps(//legacy/old:old)", want: []string{"//legacy/old:old", "//base:ubuntu", "//common:scripts/setup.sh"}},
		{expr: "deps(//apps/web + //apps/worker)", want: []string{
			"//apps/web:web", "//platform/java:jre21", "//base:al2023", "//base:harden.sh", "//base:files/motd",
			"//apps/worker:worker", "//base:ubuntu", "//common:scripts/setup.sh",
		}},
		// The diamond //apps/web -> jre21 -> al2023 -> harden.sh and web -> harden.sh:
		// depth counts the shortest way, so harden.sh is one step away.
		{expr: "deps(//apps/web, 1)", want: []string{"//apps/web:web", "//platform/java:jre21", "//base:harden.sh"}},
		{expr: "deps(set())", want: []string{}},
		{expr: "deps(//apps/..., 1) - //apps/...", want: []string{
			"//platform/java:jre17", "//apps/api:install.sh", "//apps/api:files/api.service",
			"//base:harden.sh", "//platform/java:jre21", "//base:ubuntu",
		}},
	})
}

func TestRdeps(t *testing.T) {
	runEvalCases(t, []evalCase{
		{expr: "rdeps(//..., //base:harden.sh)", want: []string{
			"//base:harden.sh", "//base:al2023", "//apps/api:api", "//apps/web:web",
			"//platform/java:jre17", "//platform/java:jre21", "//apps-extra:tool",
		}},
		{expr: "rdeps(//..., //base:harden.sh, 0)", want: []string{"//base:harden.sh"}},
		{expr: "rdeps(//..., //base:harden.sh, 1)", want: []string{"//base:harden.sh", "//base:al2023", "//apps/api:api", "//apps/web:web"}},
		{expr: "rdeps(//..., //common:scripts/setup.sh)", want: []string{
			"//common:scripts/setup.sh", "//base:ubuntu", "//platform/java:jre17",
			"//apps/worker:worker", "//legacy/old:old", "//apps/api:api",
		}},
		// The universe is the transitive closure of //apps/...: al2023 is in
		// it, //apps-extra:tool is not.
		{expr: "rdeps(//apps/..., //base:al2023)", want: []string{
			"//base:al2023", "//platform/java:jre17", "//platform/java:jre21", "//apps/api:api", "//apps/web:web",
		}},
		{expr: "rdeps(//apps/api, //base:al2023)", want: []string{"//base:al2023", "//platform/java:jre17", "//apps/api:api"}},
		{expr: "rdeps(//apps/worker, //base:al2023)", want: []string{}},
		{expr: "rdeps(//..., //base:al2023 + //base:ubuntu, 1)", want: []string{
			"//base:al2023", "//base:ubuntu", "//platform/java:jre17", "//platform/java:jre21",
			"//apps-extra:tool", "//apps/worker:worker", "//legacy/old:old",
		}},
		{expr: "rdeps(//..., //..., 0)", want: allImages},
	})
}
