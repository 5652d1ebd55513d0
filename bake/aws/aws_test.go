package aws

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// isolateAWSConfig hides this machine's AWS configuration from a test.
func isolateAWSConfig(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_POLL_DELAY_SECONDS", "AWS_TIMEOUT_SECONDS", "AWS_MAX_ATTEMPTS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestNewWithoutCredentials(t *testing.T) {
	isolateAWSConfig(t)
	_, err := New(context.Background(), Options{})
	if err == nil || !strings.Contains(err.Error(), "no usable AWS credentials") || !strings.Contains(err.Error(), "hint:") {
		t.Fatalf("New = %v", err)
	}
}

func TestNewWithAnUnknownProfile(t *testing.T) {
	isolateAWSConfig(t)
	_, err := New(context.Background(), Options{Profile: "nope"})
	if err == nil || !strings.Contains(err.Error(), `profile "nope"`) {
		t.Fatalf("New = %v", err)
	}
}

func TestNewDefaults(t *testing.T) {
	isolateAWSConfig(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_MAX_ATTEMPTS", "3")
	b, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.opts.PollInterval != 2*time.Second || b.opts.SSHTimeout != 5*time.Minute || b.sshCIDR != "" {
		t.Errorf("defaults: %+v", b.opts)
	}
	if got := b.cfg.Retryer().MaxAttempts(); got < minAttempts {
		t.Errorf("the retryer makes %d attempts, want at least %d despite AWS_MAX_ATTEMPTS=3", got, minAttempts)
	}
	if b.cfg.RetryMaxAttempts < minAttempts {
		t.Errorf("RetryMaxAttempts = %d", b.cfg.RetryMaxAttempts)
	}
	if _, err := b.clientsFor(""); err == nil {
		t.Error("a client for no region")
	}
	c1, _ := b.clientsFor("us-east-1")
	c2, _ := b.clientsFor("us-east-1")
	if c1 != c2 {
		t.Error("two clients for one region")
	}

	t.Setenv("AWS_POLL_DELAY_SECONDS", "0.25")
	b, err = New(context.Background(), Options{SSHCIDR: "198.51.100.4"})
	if err != nil {
		t.Fatal(err)
	}
	if b.opts.PollInterval != 250*time.Millisecond || b.sshCIDR != "198.51.100.4/32" {
		t.Errorf("poll %s, cidr %q", b.opts.PollInterval, b.sshCIDR)
	}
	t.Setenv("AWS_POLL_DELAY_SECONDS", "soon")
	if _, err := New(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "AWS_POLL_DELAY_SECONDS") {
		t.Errorf("New = %v", err)
	}
}

func TestNormalizeCIDR(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":    "203.0.113.7/32",
		"203.0.113.7/24": "203.0.113.0/24",
		"0.0.0.0/0":      "0.0.0.0/0",
		"2001:db8::1":    "2001:db8::1/128",
	} {
		got, err := normalizeCIDR(in)
		if err != nil || got != want {
			t.Errorf("normalizeCIDR(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "anywhere", "10.0.0.0/33"} {
		if _, err := normalizeCIDR(bad); err == nil {
			t.Errorf("normalizeCIDR(%q) accepted it", bad)
		}
	}
}
