package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/engine"
	"github.com/imgraph/imgraph/internal/sandbox"
	"github.com/imgraph/imgraph/label"
	"github.com/imgraph/imgraph/rules"
)

func affectedCommand(e *env, opts *options) *cobra.Command {
	var since string
	c := &cobra.Command{
		Use:   "affected --since REV [patterns]",
		Short: "List the images whose key differs from git revision REV's",
		Long: `Affected computes every key twice, for the workspace as git revision REV
has it and as the working tree has it, and lists the images the patterns
select (default //...) whose key differs, with what changed: so CI bakes
and tests only what a pull request changes. A script, a file an image
sends, a source, the lock or an artifact's digest counts; a tag or a
comment does not. Files git ignores (a generated root filesystem) are
taken from the working tree for both sides. It reaches no platform: a
floating source must be in IMAGES.lock on both sides.`,
		RunE: func(c *cobra.Command, args []string) error {
			if since == "" {
				return usagef("affected needs --since REV, such as --since origin/main or --since HEAD~1")
			}
			if err := checkOutput(opts, "text", "json"); err != nil {
				return err
			}
			s, err := openSession(e, opts)
			if err != nil {
				return err
			}
			ps, err := s.patterns(args)
			if err != nil {
				return err
			}
			defer s.warnLoading()
			now, err := analyzeOffline(c.Context(), s, s.loader, ps)
			if err != nil {
				return err
			}
			tree, cleanup, err := gitTree(c.Context(), s.ws.Root, since)
			defer cleanup()
			if err != nil {
				return err
			}
			// The revision's own workspace, at the same place, or none:
			// searching upward from the checkout would find this one.
			before := &engine.Analysis{}
			if ws, err := rules.FindWorkspace(tree); err == nil && sameDir(ws.Root, tree) {
				loader, err := rules.NewLoader(ws, s.loader.Config())
				if err != nil {
					return fmt.Errorf("the workspace at %s: %w", since, err)
				}
				before, err = analyzeOffline(c.Context(), s, loader, []label.Pattern{{Recursive: true, Selects: label.Rules}})
				if err != nil {
					return fmt.Errorf("the workspace at %s:\n%w", since, err)
				}
			}
			affected := engine.AffectedSince(before, now)
			if opts.output == "json" {
				return writeJSON(e.stdout, affectedJSONOf(since, affected))
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "IMAGE\tKEY\tWHY")
			for _, a := range affected {
				for i, r := range a.Reasons {
					if i == 0 {
						fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Label, a.Key.Short(), r)
					} else {
						fmt.Fprintf(tw, "\t\t%s\n", r)
					}
				}
			}
			tw.Flush()
			fmt.Fprintf(e.stdout, "%d %s affected since %s\n", len(affected), engine.Plural(len(affected), "image", "images"), since)
			return nil
		},
	}
	c.Flags().StringVar(&since, "since", "", "the git revision to compare with (a commit, branch or tag)")
	return c
}

// analyzeOffline keys the images patterns select without reaching the
// platform: sources must be locked.
func analyzeOffline(ctx context.Context, s *session, l *rules.Loader, ps []label.Pattern) (*engine.Analysis, error) {
	return engine.Analyze(ctx, l, engine.AnalyzeOptions{Patterns: ps, Platform: s.platform,
		Resolver: engine.NoResolver{Err: errors.New("affected reaches no platform; run `imgraph lock` and commit IMAGES.lock")}})
}

type affectedJSON struct {
	Since  string              `json:"since"`
	Images []affectedImageJSON `json:"images"`
}

type affectedImageJSON struct {
	Label   string   `json:"label"`
	Key     string   `json:"key"`
	Was     string   `json:"was,omitempty"`
	Reasons []string `json:"reasons"`
}

func affectedJSONOf(since string, affected []engine.Affected) affectedJSON {
	out := affectedJSON{Since: since, Images: []affectedImageJSON{}}
	for _, a := range affected {
		out.Images = append(out.Images, affectedImageJSON{Label: a.Label.String(), Key: a.Key.Hex, Was: a.Was, Reasons: a.Reasons})
	}
	return out
}

// gitTree writes the workspace at root as git revision rev has it into a
// temporary directory under its output directory (the file system of the
// working tree, so its ignored files can be hard-linked in), with the
// files git ignores taken from the working tree, and returns the
// workspace's root there. Git itself checks the revision out (read-tree
// into an index of its own, then checkout-index), so the revision's
// symlinks are written as git writes them and never followed. cleanup
// removes it all, and is safe to call whatever gitTree returns.
func gitTree(ctx context.Context, root, rev string) (wsRoot string, cleanup func(), err error) {
	cleanup = func() {}
	if resolved, err := filepath.EvalSymlinks(root); err == nil {
		root = resolved // git names its top with symlinks resolved
	}
	top, err := git(ctx, root, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", cleanup, usagef("affected compares with a git revision, and %s is not in a git repository (%v)", root, err)
	}
	top = strings.TrimSpace(top)
	if _, err := git(ctx, top, "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		return "", cleanup, usagef("--since %s: not a revision of the repository at %s", rev, top)
	}
	rel, err := filepath.Rel(top, root)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", cleanup, fmt.Errorf("the workspace %s is not inside the repository at %s", root, top)
	}
	out := filepath.Join(root, rules.OutDir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", cleanup, err
	}
	// A run killed with kill -9 leaves its checkout; one a day old is no
	// run's any more (a run takes minutes).
	if stale, _ := filepath.Glob(filepath.Join(out, ".affected-*")); len(stale) > 0 {
		for _, d := range stale {
			if fi, err := os.Lstat(d); err == nil && fi.IsDir() && time.Since(fi.ModTime()) > staleCheckout {
				sandbox.RemoveTree(d)
			}
		}
	}
	tmp, err := os.MkdirTemp(out, ".affected-")
	if err != nil {
		return "", cleanup, err
	}
	cleanup = func() { sandbox.RemoveTree(tmp) }
	tree := filepath.Join(tmp, "tree")
	index := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	treeish, prefix := rev+"^{tree}", ""
	if rel != "." {
		treeish, prefix = rev+":"+filepath.ToSlash(rel), "--prefix="+filepath.ToSlash(rel)+"/"
	}
	readTree := []string{"read-tree"}
	if prefix != "" {
		readTree = append(readTree, prefix)
	}
	if _, err := gitEnv(ctx, top, index, append(readTree, treeish)...); err != nil {
		return "", cleanup, fmt.Errorf("reading %s: %w", rev, err)
	}
	if _, err := gitEnv(ctx, top, index, "checkout-index", "--all", "--force", "--prefix="+tree+"/"); err != nil {
		return "", cleanup, fmt.Errorf("checking %s out: %w", rev, err)
	}
	ignored, err := git(ctx, root, "ls-files", "--others", "--ignored", "--exclude-standard", "--directory", "-z", "--", ".")
	if err != nil {
		return "", cleanup, err
	}
	wsRoot = filepath.Join(tree, rel)
	for _, p := range strings.Split(ignored, "\x00") {
		p = strings.TrimSuffix(p, "/")
		if p == "" || p == rules.OutDir || strings.HasPrefix(p, rules.OutDir+"/") {
			continue
		}
		if err := linkIgnored(root, wsRoot, p); err != nil {
			return "", cleanup, fmt.Errorf("copying the ignored %s: %w", p, err)
		}
	}
	return wsRoot, cleanup, nil
}

// linkIgnored puts the working tree's ignored rel (under root) into the
// checkout at wsRoot: whole where its place is free; entry by entry where
// the revision has a real directory there (a .keep it tracks, say); not
// at all where the revision has anything else, or reaches it through
// anything but real directories: the revision's own wins.
func linkIgnored(root, wsRoot, rel string) error {
	if freeIn(wsRoot, rel) {
		return linkTree(filepath.Join(root, rel), filepath.Join(wsRoot, rel))
	}
	if !realDirIn(wsRoot, rel) {
		return nil
	}
	src, err := os.Lstat(filepath.Join(root, rel))
	if err != nil || !src.IsDir() {
		return nil
	}
	entries, err := os.ReadDir(filepath.Join(root, rel))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := linkIgnored(root, wsRoot, filepath.Join(rel, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// realDirIn reports whether rel under dir is a directory reached through
// directories alone.
func realDirIn(dir, rel string) bool {
	p := dir
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		p = filepath.Join(p, part)
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// sameDir reports whether a and b name one directory.
func sameDir(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// staleCheckout is how old a checkout of an earlier affected run must be
// for a later one to remove it.
const staleCheckout = 24 * time.Hour

// freeIn reports whether rel can be written under dir without going
// through anything but real directories: every parent that exists is a
// directory (not a symlink a revision may hold), and rel itself is not
// there.
func freeIn(dir, rel string) bool {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	p := dir
	for i, part := range parts {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return true
		}
		if err != nil || i == len(parts)-1 || !fi.IsDir() {
			return false
		}
	}
	return false
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	return gitEnv(ctx, dir, nil, args...)
}

func gitEnv(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", errors.New(msg)
		}
		return "", err
	}
	return string(out), nil
}

// linkTree puts the file or tree at from at to as it is (modes
// included), hard-linking what it can, copying regular files where it
// cannot, and recreating symlinks.
func linkTree(from, to string) error {
	type dir struct {
		path string
		mode fs.FileMode
	}
	var dirs []dir
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		switch {
		case d.IsDir():
			// Writable until its entries are in; its own mode at the end.
			// Every directory here is one this walk made (freeIn checked
			// the top), so nothing is chmod-ed through a symlink.
			dirs = append(dirs, dir{dst, info.Mode()})
			return os.Mkdir(dst, 0o700)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		}
		if os.Link(p, dst) == nil || !d.Type().IsRegular() {
			return nil // a device or a pipe that cannot be linked: no image sends one
		}
		return copyFile(p, dst, info.Mode())
	})
	for i := len(dirs) - 1; i >= 0 && err == nil; i-- {
		err = os.Chmod(dirs[i].path, dirs[i].mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
	}
	return err
}

func copyFile(from, to string, mode fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
