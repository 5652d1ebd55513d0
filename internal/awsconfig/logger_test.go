package awsconfig

import (
	"fmt"
	"testing"

	"github.com/aws/smithy-go/logging"
)

func TestLoggerPassesWarningsAndDropsDebug(t *testing.T) {
	var got []string
	l := Logger{Warn: func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) }}
	l.Logf(logging.Debug, "Response has no supported checksum. Not validating response payload.")
	l.Logf(logging.Warn, "falling back to %s", "IMDSv1")
	if len(got) != 1 || got[0] != "aws: falling back to IMDSv1" {
		t.Errorf("warnings = %q, want only the warning, prefixed", got)
	}
	Logger{}.Logf(logging.Warn, "nobody listens") // must not panic
}
