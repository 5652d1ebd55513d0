// Package gen writes synthetic imgraph workspaces for tests and benchmarks:
// many packages of images with parent chains of a chosen depth and fan-out,
// scripts (some shared between packages by label), copies, env and tags.
// The output is a pure function of the Config, byte for byte.
package gen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/imgraph/imgraph/label"
)

// Config says what workspace to write. Zero fields take the defaults noted.
type Config struct {
	Images      int    // total images; at least 1
	Packages    int    // packages the images are spread over; default Images/10 (at least 1)
	Depth       int    // longest parent chain, root images being depth 1; default min(4, Images)
	FanOut      int    // children per parent at most, and roughly on average; default 3
	ScriptBytes int    // size of each generated script (more if its commands need it); default 256
	SharedFiles int    // scripts shared between packages, referenced by label
	Seed        int64  // seeds every random choice
	Platform    string // "local" (rootfs sources, the default) or "aws" (ami("ami-...") sources)
	// BaseAMI is, on the aws platform, the image every root image starts
	// from, ami(BaseAMI): one that exists, for a build against EC2 or its
	// simulator. Without it each root names an id made up for it.
	BaseAMI string
}

// amiID is an image id as ami() takes it.
var amiID = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)

// Stats describes the workspace Write wrote.
type Stats struct {
	Images   int
	Packages int      // packages holding images; the root package is not counted
	Files    int      // every file written, IMAGES.star files included
	Labels   []string // every image's label, //pkg:name, in label order
}

// Defaults fills the zero fields of c with their defaults.
func (c Config) Defaults() Config {
	if c.Packages == 0 {
		c.Packages = max(1, c.Images/10)
	}
	if c.Depth == 0 {
		c.Depth = min(4, c.Images)
	}
	if c.FanOut == 0 {
		c.FanOut = 3
	}
	if c.ScriptBytes == 0 {
		c.ScriptBytes = 256
	}
	if c.Platform == "" {
		c.Platform = "local"
	}
	return c
}

func (c Config) check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Images < 1 {
		bad("gen: Images is %d, want at least 1", c.Images)
	}
	if c.Packages < 1 || c.Packages > c.Images {
		bad("gen: Packages is %d, want 1 to Images (%d): every package holds an image", c.Packages, c.Images)
	}
	if c.Depth < 1 || c.Depth > c.Images {
		bad("gen: Depth is %d, want 1 to Images (%d)", c.Depth, c.Images)
	}
	if c.FanOut < 1 {
		bad("gen: FanOut is %d, want at least 1", c.FanOut)
	}
	if c.ScriptBytes < 0 || c.SharedFiles < 0 {
		bad("gen: ScriptBytes and SharedFiles may not be negative")
	}
	if c.Platform != "local" && c.Platform != "aws" {
		bad("gen: Platform is %q, want \"local\" or \"aws\"", c.Platform)
	}
	if c.BaseAMI != "" && (c.Platform != "aws" || !amiID.MatchString(c.BaseAMI)) {
		bad("gen: BaseAMI %q: want an image id such as \"ami-0123456789abcdef0\", on the aws platform", c.BaseAMI)
	}
	return errors.Join(errs...)
}

// Write writes the workspace c describes into dir, which must be empty or
// missing: the root IMAGES.star calling workspace(...), a defs.star every
// package loads, and the packages with their scripts and files.
func Write(dir string, c Config) (Stats, error) {
	c = c.Defaults()
	if err := c.check(); err != nil {
		return Stats{}, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return Stats{}, fmt.Errorf("gen: %s is not empty", dir)
	}
	ws := plan(c)
	files := render(c, ws)
	if err := writeFiles(dir, files); err != nil {
		return Stats{}, err
	}

	st := Stats{Images: len(ws.images), Packages: len(ws.packages), Files: len(files)}
	labels := make([]label.Label, len(ws.images))
	for i, im := range ws.images {
		labels[i] = label.Label{Pkg: ws.packages[im.pkg].path, Name: im.name}
	}
	sortLabels(labels)
	st.Labels = make([]string, len(labels))
	for i, l := range labels {
		st.Labels[i] = l.String()
	}
	return st, nil
}

// file is one file of the workspace, its path slash-separated and relative.
type file struct {
	path string
	data []byte
	exec bool
}

// writeFiles creates the directories in order, then writes the files from a
// few goroutines: thousands of small files are bound by system calls.
func writeFiles(dir string, files []file) error {
	made := map[string]bool{}
	for _, f := range files {
		d := filepath.Dir(filepath.Join(dir, filepath.FromSlash(f.path)))
		if made[d] {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		made[d] = true
	}

	workers := 8
	next := make(chan file)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				if errs[w] != nil {
					continue // drain, so the sender never blocks
				}
				mode := os.FileMode(0o644)
				if f.exec {
					mode = 0o755
				}
				if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f.path)), f.data, mode); err != nil {
					errs[w] = fmt.Errorf("gen: %w", err)
				}
			}
		}()
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
