package query

import "testing"

func TestAllpaths(t *testing.T) {
	runEvalCases(t, []evalCase{
		// Both ways round the diamond: directly and through jre17 and al2023.
		{expr: "allpaths(//apps/api, //base:harden.sh)", want: []string{
			"//apps/api:api", "//platform/java:jre17", "//base:al2023", "//base:harden.sh",
		}},
		{expr: "allpaths(//apps/..., //base:al2023)", want: []string{
			"//apps/api:api", "//apps/web:web", "//platform/java:jre17", "//platform/java:jre21", "//base:al2023",
		}},
		{expr: "allpaths(//apps/api, //common:scripts/setup.sh)", want: []string{
			"//apps/api:api", "//platform/java:jre17", "//common:scripts/setup.sh",
		}},
		{expr: "allpaths(//apps/api, //apps/api)", want: []string{"//apps/api:api"}},
		{expr: "allpaths(//apps/worker, //base:al2023)", want: []string{}},
		{expr: "allpaths(//base:al2023, //apps/api)", want: []string{}}, // edges go from dependent to dependency
		{expr: "allpaths(//..., //base:files/motd + //common:scripts/setup.sh) ^ //apps/...", want: []string{
			"//apps/api:api", "//apps/web:web", "//apps/worker:worker",
		}},
	})
}

func TestSomepath(t *testing.T) {
	runEvalCases(t, []evalCase{
		{expr: "somepath(//apps/api, //base:harden.sh)", want: []string{"//apps/api:api", "//base:harden.sh"}}, // the shortest
		{expr: "somepath(//apps/api, //base:files/motd)", want: []string{
			"//apps/api:api", "//platform/java:jre17", "//base:al2023", "//base:files/motd",
		}},
		// From several starts: api comes first in label order, so its path wins.
		{expr: "somepath(//apps/..., //base:al2023)", want: []string{"//apps/api:api", "//platform/java:jre17", "//base:al2023"}},
		{expr: "somepath(//apps/web + //apps/worker, //common:scripts/setup.sh)", want: []string{
			"//apps/worker:worker", "//base:ubuntu", "//common:scripts/setup.sh",
		}},
		{expr: "somepath(//apps/worker, //base:al2023)", want: []string{}},
		{expr: "somepath(//base:al2023 + //apps/web, //base:al2023)", want: []string{"//base:al2023"}},
		{expr: "somepath(set(), //base:al2023)", want: []string{}},
	})
}
