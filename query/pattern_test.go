package query

import "testing"

func TestPatterns(t *testing.T) {
	runEvalCases(t, []evalCase{
		{expr: "//...", want: allImages},
		{expr: "//...:all", want: allImages},
		{expr: "//...:*", want: append(append([]string{}, allImages...), allFiles...)},
		{expr: "//apps/...", want: []string{"//apps/api:api", "//apps/web:web", "//apps/worker:worker"}},
		{expr: "//apps/api", want: []string{"//apps/api:api"}},
		{expr: "//apps/api:all", want: []string{"//apps/api:api"}},
		{expr: "//apps/api:*", want: []string{"//apps/api:api", "//apps/api:files/api.service", "//apps/api:install.sh"}},
		{expr: "//apps/api:all-targets", want: []string{"//apps/api:api", "//apps/api:files/api.service", "//apps/api:install.sh"}},
		{expr: "//base:harden.sh", want: []string{"//base:harden.sh"}},
		{expr: "//base:files/motd", want: []string{"//base:files/motd"}},
		{expr: "//common:all", want: []string{}}, // the package holds files only
		{expr: "//common/...", want: []string{}}, // likewise
		{expr: "//common:*", want: []string{"//common:scripts/setup.sh"}},
		{expr: "//platform/...:*", want: []string{"//platform/java:jre17", "//platform/java:jre21"}},

		// Relative to the current directory's package.
		{expr: "api", cwd: "apps", want: []string{"//apps/api:api"}},
		{expr: "...", cwd: "apps", want: []string{"//apps/api:api", "//apps/web:web", "//apps/worker:worker"}},
		{expr: ":api", cwd: "apps/api", want: []string{"//apps/api:api"}},
		{expr: ":*", cwd: "apps/api", want: []string{"//apps/api:api", "//apps/api:files/api.service", "//apps/api:install.sh"}},
		// A relative path without ':' may name a file of an enclosing package.
		{expr: "install.sh", cwd: "apps/api", want: []string{"//apps/api:install.sh"}},
		{expr: "api/files/api.service", cwd: "apps", want: []string{"//apps/api:files/api.service"}},
		{expr: "base/files/motd", want: []string{"//base:files/motd"}},
		{expr: "../web", cwd: "apps/api", want: []string{"//apps/web:web"}},
		{expr: "apps/worker", cwd: "", want: []string{"//apps/worker:worker"}},
		{expr: "//base:ubuntu", cwd: "apps", want: []string{"//base:ubuntu"}},

		// Quoted words are words, whatever they hold.
		{expr: `"//apps/api"`, want: []string{"//apps/api:api"}},
		{expr: `'//apps/api:*' - "//apps/api"`, want: []string{"//apps/api:files/api.service", "//apps/api:install.sh"}},
	})
}

func TestPatternErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{expr: "//base:al2024", msg: "no such target '//base:al2024': target 'al2024' not declared in package 'base'; did you mean //base:al2023?"},
		{expr: "//base:hardn.sh", msg: "no such target '//base:hardn.sh': target 'hardn.sh' not declared in package 'base'; did you mean //base:harden.sh?"},
		{expr: "//base:zzz", msg: "no such target '//base:zzz': target 'zzz' not declared in package 'base'"},
		{expr: "//apps/ap1", msg: "no such target '//apps/ap1:ap1': there is no package 'apps/ap1'; did you mean //apps/api:api?"},
		{expr: "//bsae:al2023", msg: "no such target '//bsae:al2023': there is no package 'bsae'; did you mean //base:al2023?"},
		{expr: "//base + //apps/api", msg: "no such target '//base:base': target 'base' not declared in package 'base'"},
		{expr: "//apps/api + :web", cwd: "apps", offset: 13, msg: "no such target '//apps:web': there is no package 'apps'"},
		{expr: "//nope/...", msg: "no targets found beneath 'nope'"},
		{expr: "//bse/...", msg: "no targets found beneath 'bse'; did you mean //base/...?"},
		{expr: "//nope:all", msg: "no such package 'nope'"},
		{expr: "//bsae:*", msg: "no such package 'bsae'; did you mean //base:*?"},
		{expr: "base/files/nope", msg: "no such target '//base/files/nope:nope': there is no package 'base/files/nope'"},
		{expr: "//base/files/motd", msg: "no such target '//base/files/motd:motd': there is no package 'base/files/motd'; did you mean //base:files/motd?"},
		{expr: "//a//b", msg: `invalid target pattern "//a//b": package name may not contain '//'`},
		{expr: "//a/...:x", msg: `invalid target pattern "//a/...:x": a recursive pattern selects :all or :*, not one target`},
		{expr: "../../x", cwd: "apps", msg: `invalid target pattern "../../x": the pattern climbs above the workspace root`},
		{expr: "'@repo//x'", msg: `invalid target pattern "@repo//x": external repositories (@repo//...) are not supported`},
		{expr: "//... + '-//legacy/...'", offset: 8, msg: "a negative pattern has no meaning in a query; subtract it instead: //... - //legacy/..."},
	})
}
