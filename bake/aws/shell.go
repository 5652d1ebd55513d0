package aws

import (
	"maps"
	"slices"
	"strings"
)

// shellQuote quotes s for a POSIX shell: every byte reaches the command
// as it is, quotes, $, backticks and newlines included.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runProgram is the command that runs a program sent on its standard
// input: the program (exports, then the provisioner) never appears on a
// command line, where other users of the instance could read its secrets.
const runProgram = `/bin/sh -c 'eval "$(cat)"'`

// exports is a shell prelude that exports vars, in order of name.
func exports(vars map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		b.WriteString("export ")
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(shellQuote(vars[k]))
		b.WriteByte('\n')
	}
	return b.String()
}
