// Package awslog gives the AWS SDK a logger that speaks through imgraph's
// own warnings. The SDK's default logger prints "SDK <time> DEBUG ..."
// lines to standard error, debug notes included, in the middle of a
// build's output and outside its live view.
package awslog

import "github.com/aws/smithy-go/logging"

// Logger passes the SDK's warnings to Warn, prefixed "aws: ", and drops
// its debug notes. A nil Warn drops everything.
type Logger struct {
	Warn func(format string, args ...any)
}

// Logf implements logging.Logger.
func (l Logger) Logf(c logging.Classification, format string, args ...any) {
	if c == logging.Warn && l.Warn != nil {
		l.Warn("aws: "+format, args...)
	}
}
