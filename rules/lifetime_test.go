package rules

import (
	"testing"
	"time"
)

func TestParseLifetime(t *testing.T) {
	const day = 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"90d": 90 * day, "1d": day, "3650d": 3650 * day, "36h": 36 * time.Hour, "30m": 30 * time.Minute,
		"1m": time.Minute, "1h30m": 90 * time.Minute, "87600h": 3650 * day,
	} {
		got, err := ParseLifetime(in)
		if err != nil || got != want {
			t.Errorf("ParseLifetime(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := ParseLifetime(FormatLifetime(got)); err != nil || back != got {
			t.Errorf("%q formats as %q, which reads as %v, %v", in, FormatLifetime(got), back, err)
		}
	}
	for _, in := range []string{"", "d", "90", "1.5d", "-1d", "0d", "0s", "59s", "3651d", "87601h", "1w", "90 d", "99999999999999999999d"} {
		if d, err := ParseLifetime(in); err == nil {
			t.Errorf("ParseLifetime(%q) = %v, want an error", in, d)
		}
	}
	if got := FormatLifetime(90 * time.Minute); got != "1h30m0s" {
		t.Errorf("FormatLifetime(90m) = %q", got)
	}
}
