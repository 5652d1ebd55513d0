package aws

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/label"
)

// AMI names are 3 to 128 characters of letters, digits and ()[] ./-'@_.
const maxImageName = 128

// imageName is a readable name for the image of label with key, made at
// t by one bake: imgraph-<pkg>-<name>-<key[:12]>-<time>-<bake>. It is the
// bake's alone (two runs may bake one key in one second), so an image of
// that name is the bake's image.
func imageName(l label.Label, key string, t time.Time, bakeID string) string {
	suffix := "-" + bake.ShortKey(key) + "-" + t.UTC().Format("20060102T150405Z") + "-" + bakeID
	head := "imgraph-"
	if l.Pkg != "" {
		head += strings.ReplaceAll(l.Pkg, "/", "-") + "-"
	}
	head = sanitizeName(head+strings.ReplaceAll(l.Name, "/", "-"), isImageNameByte)
	if room := maxImageName - len(suffix); len(head) > room {
		head = head[:room]
	}
	return head + suffix
}

func isImageNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("()[] ./-'@_", c) >= 0
}

// resourceName names a temporary resource of a bake: imgraph-<kind>-<run>-<bake>.
func resourceName(s *bakeState, kind string) string {
	name := "imgraph-" + kind + "-" + s.job.RunID + "-" + s.bakeID
	return sanitizeName(name, func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
	})
}

// sanitizeName replaces each byte ok refuses with '-'.
func sanitizeName(s string, ok func(byte) bool) string {
	b := []byte(s)
	for i, c := range b {
		if !ok(c) {
			b[i] = '-'
		}
	}
	return string(b)
}

func randomHex(n int) string {
	buf := make([]byte, n)
	rand.Read(buf) // never fails: it crashes the program instead
	return hex.EncodeToString(buf)
}
