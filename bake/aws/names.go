package aws

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/imgraph/imgraph/label"
)

// AMI names are 3 to 128 characters of letters, digits and ()[] ./-'@_.
const maxImageName = 128

// imageName is the name of the image of label with key:
// imgraph-<pkg>-<name>-<key[:32]>. EC2 lets one image of an account and
// region have a name, so one image of a label and key exists however many
// runs bake it at once: the others find it by its name and take it.
func imageName(l label.Label, key string) string {
	if len(key) > 32 {
		key = key[:32]
	}
	suffix := "-" + key
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
