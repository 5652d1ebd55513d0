package engine_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/engine"
)

// A secret written in pieces is masked, whatever another stream writes
// between the pieces; what cannot start a secret is passed on at once.
func TestRedactorStreams(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	var log bytes.Buffer
	r := engine.NewRedactor(&log, []string{secret})
	stdout, stderr := r.Stream(), r.Stream()
	io.WriteString(stdout, "token: s3cr")
	if got := log.String(); got != "token: " {
		t.Errorf("after the first piece the log holds %q, want only what cannot start the secret", got)
	}
	io.WriteString(stderr, "warning: slow\n")
	io.WriteString(stdout, "3t-t0ken\n")
	stdout.Close()
	stderr.Close()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := log.String(), "token: warning: slow\n"+engine.Mask+"\n"; got != want {
		t.Errorf("log = %q, want %q", got, want)
	}
}

// An unfinished start of a secret that never goes on is passed on when
// its stream ends: it is not the secret.
func TestRedactorPassesOnWhatIsNotASecret(t *testing.T) {
	var log bytes.Buffer
	r := engine.NewRedactor(&log, []string{"password"})
	s := r.Stream()
	io.WriteString(s, "pass")
	s.Close()
	io.WriteString(r, "pass word\n")
	r.Flush()
	if got := log.String(); got != "passpass word\n" {
		t.Errorf("log = %q", got)
	}
}

// However two streams cut and interleave their writes, no secret, and no
// piece of one longer than half of it, reaches the log.
func TestRedactorUnderInterleaving(t *testing.T) {
	secrets := []string{"hunter2-hunter2", "AKIDEXAMPLE0123456789"}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 500; round++ {
		var log bytes.Buffer
		r := engine.NewRedactor(&log, secrets)
		texts := []string{
			"a=" + secrets[0] + "\nb=" + secrets[1] + " and " + secrets[0] + "\n",
			"err: " + secrets[1] + secrets[1] + "\n",
		}
		streams := []io.WriteCloser{r.Stream(), r.Stream()}
		for texts[0] != "" || texts[1] != "" {
			i := rng.IntN(2)
			if texts[i] == "" {
				i = 1 - i
			}
			n := 1 + rng.IntN(len(texts[i]))
			io.WriteString(streams[i], texts[i][:n])
			texts[i] = texts[i][n:]
		}
		for _, s := range streams {
			s.Close()
		}
		r.Flush()
		out := log.String()
		for _, s := range secrets {
			if strings.Contains(out, s[:len(s)/2+1]) || strings.Contains(out, s[len(s)/2:]) {
				t.Fatalf("round %d: a piece of %q reached the log:\n%s", round, s, out)
			}
		}
		if n := strings.Count(out, engine.Mask); n != 5 {
			t.Fatalf("round %d: %d masks, want 5:\n%s", round, n, out)
		}
	}
}

// Secrets that overlap, or one inside another, are masked whole in
// whatever order they are given and however the output is cut.
func TestRedactorOverlappingSecrets(t *testing.T) {
	for _, c := range []struct {
		secrets   []string
		text      string
		want      string
		notInLogs []string
	}{
		{
			secrets:   []string{"hunter2", "postgres://u:hunter2@db/x"},
			text:      "url=postgres://u:hunter2@db/x\n",
			want:      "url=" + engine.Mask + "\n",
			notInLogs: []string{"postgres", "@db/x"},
		},
		{
			secrets:   []string{"xy", "yzzzzzzzz"},
			text:      "[xyzzzzzzzz]",
			want:      "[" + engine.Mask + "]",
			notInLogs: []string{"zz"},
		},
		{
			secrets: []string{"ab", "cd"},
			text:    "abcd ab",
			want:    engine.Mask + engine.Mask + " " + engine.Mask,
		},
	} {
		for _, order := range [][]string{c.secrets, {c.secrets[1], c.secrets[0]}} {
			for _, piece := range []int{1, 2, 3, len(c.text)} {
				var log bytes.Buffer
				r := engine.NewRedactor(&log, order)
				s := r.Stream()
				for text := c.text; text != ""; {
					n := min(piece, len(text))
					io.WriteString(s, text[:n])
					text = text[n:]
				}
				s.Close()
				if got := log.String(); got != c.want {
					t.Errorf("secrets %q, written %d bytes at a time: log = %q, want %q", order, piece, got, c.want)
				}
				for _, bad := range c.notInLogs {
					if strings.Contains(log.String(), bad) {
						t.Errorf("secrets %q: %q reached the log", order, bad)
					}
				}
			}
		}
	}
}

// bake.Streams gives a stream per output where the log masks streams,
// and the log itself otherwise.
func TestStreams(t *testing.T) {
	var plain bytes.Buffer
	if out, errs, done := bake.Streams(&plain); out != io.Writer(&plain) || errs != io.Writer(&plain) {
		t.Error("a plain writer is not its own stream")
	} else {
		done()
	}
	r := engine.NewRedactor(&plain, nil)
	out, errs, done := bake.Streams(r)
	defer done()
	if out == errs || out == io.Writer(r) {
		t.Error("a redactor's streams are not streams of their own")
	}
}
