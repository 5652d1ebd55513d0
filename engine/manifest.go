package engine

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/imgraph/imgraph/cache"
)

// Manifest is imgraph-out/manifest.json, for the tools that deploy the
// images (a Terraform jsondecode, a script): every label the builds of
// this output directory have recorded, each with its latest image. A
// build updates the entries of the images it records and leaves the rest,
// so a build of one package keeps every other package's.
type Manifest struct {
	RunID    string                   `json:"run_id"` // the run that wrote it last
	Platform string                   `json:"platform"`
	Images   map[string]ManifestEntry `json:"images"` // by label
}

// ManifestEntry is one image's key, its image id in each region, and
// when and by which run it was baked.
type ManifestEntry struct {
	Key    string            `json:"key"`
	Images map[string]string `json:"images"`
	Baked  time.Time         `json:"baked"`
	Run    string            `json:"run"`
}

// setManifest puts the entry of label, which this build recorded, in
// the manifest; b.mu is held.
func (b *builder) setManifest(label string, e ManifestEntry) {
	b.manifest.Images[label] = e
	b.recorded[label] = true
}

// manifestEntry is what the manifest says of the image rec records.
func manifestEntry(rec *cache.Record, images map[string]string) ManifestEntry {
	return ManifestEntry{Key: rec.Key, Images: maps.Clone(images), Baked: rec.Created.UTC(), Run: rec.RunID}
}

// startManifest is the manifest a build begins from: the one in outDir,
// when it is of the same platform and can be read; a new one otherwise.
func startManifest(outDir, runID, platform string, warn func(format string, args ...any)) *Manifest {
	fresh := &Manifest{RunID: runID, Platform: platform, Images: map[string]ManifestEntry{}}
	if outDir == "" {
		return fresh
	}
	m, err := ReadManifest(outDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fresh
	case err != nil:
		warn("%s cannot be read (%v): it starts again with this build's images", filepath.Join(outDir, "manifest.json"), err)
		return fresh
	case m.Platform != platform:
		warn("%s held the %s platform's images: it now holds the %s platform's", filepath.Join(outDir, "manifest.json"), m.Platform, platform)
		return fresh
	}
	if m.Images == nil {
		m.Images = map[string]ManifestEntry{}
	}
	m.RunID = runID
	return m
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
	// Another build into the same output directory may have written
	// since this one began: its entries are kept, this one's put over
	// them, under a lock so neither write is lost.
	if err := os.MkdirAll(b.opt.OutDir, 0o755); err != nil {
		return err
	}
	unlock := lockManifest(filepath.Join(b.opt.OutDir, ".manifest.lock"), b.opt.Warn)
	defer unlock()
	if disk, err := ReadManifest(b.opt.OutDir); err == nil && disk.Platform == b.manifest.Platform && disk.Images != nil {
		for l, e := range disk.Images {
			if _, ours := b.recorded[l]; !ours {
				b.manifest.Images[l] = e
			}
		}
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
