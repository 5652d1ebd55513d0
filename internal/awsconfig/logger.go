package awsconfig

import "github.com/aws/smithy-go/logging"

// Logger is the SDK's logger: it passes the SDK's warnings to Warn,
// prefixed "aws: ", and drops its debug notes (the SDK's default logger
// prints them to standard error, in the middle of a build's output and
// outside its live view). A nil Warn drops everything.
type Logger struct {
	Warn func(format string, args ...any)
}

// Logf implements logging.Logger.
func (l Logger) Logf(c logging.Classification, format string, args ...any) {
	if c == logging.Warn && l.Warn != nil {
		l.Warn("aws: "+format, args...)
	}
}
