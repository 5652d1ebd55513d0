package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// Manifest is imgraph-out/manifest.json: what the last build made, for
// the tools that deploy its images.
type Manifest struct {
	RunID    string                   `json:"run_id"`
	Platform string                   `json:"platform"`
	Images   map[string]ManifestEntry `json:"images"` // by label
}

// ManifestEntry is one image's key and its image id in each region.
type ManifestEntry struct {
	Key    string            `json:"key"`
	Images map[string]string `json:"images"`
}

// ReadManifest reads the manifest in outDir.
func ReadManifest(outDir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(outDir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m Manifest
	return &m, json.Unmarshal(data, &m)
}

func (b *builder) writeManifest() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writeManifestLocked()
}

// writeManifestLocked rewrites the manifest atomically; b.mu is held.
func (b *builder) writeManifestLocked() error {
	if b.opt.OutDir == "" {
		return nil
	}
	data, err := json.MarshalIndent(b.manifest, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.opt.OutDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(b.opt.OutDir, ".manifest-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(b.opt.OutDir, "manifest.json"))
}
