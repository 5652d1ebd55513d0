package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// LaunchTemplateNameRE is what EC2 accepts as a launch template's name.
var LaunchTemplateNameRE = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

// The bounds of deprecate_after: EC2 deprecates no sooner than the next
// minute and no later than ten years ahead.
const (
	MinLifetime = time.Minute
	MaxLifetime = 3650 * 24 * time.Hour
)

// ParseLifetime reads a duration such as deprecate_after's: "90d", "36h",
// "30m", or any Go duration ("1h30m"), from a minute to ten years.
func ParseLifetime(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 32)
		if err != nil {
			return 0, lifetimeError(s)
		}
		d = time.Duration(n) * 24 * time.Hour // no overflow: |n| < 2^31
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, lifetimeError(s)
		}
	}
	if d < MinLifetime || d > MaxLifetime {
		return 0, fmt.Errorf("%q is outside a minute to ten years (3650d)", s)
	}
	return d, nil
}

func lifetimeError(s string) error {
	return fmt.Errorf("%q is not a duration such as \"90d\", \"36h\" or \"30m\"", s)
}

// FormatLifetime writes d as ParseLifetime reads it: whole days as "90d",
// anything else as a Go duration; "" for none.
func FormatLifetime(d time.Duration) string {
	switch {
	case d == 0:
		return ""
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}
