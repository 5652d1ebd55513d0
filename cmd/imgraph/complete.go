package main

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgraph/imgraph/query"
	"github.com/imgraph/imgraph/rules"
)

// completeLabels completes a command's label and pattern arguments from
// the workspace: packages as //pkg, //pkg/... and //pkg: while the
// package is being typed, then the images of the package named before
// the colon. Nothing is completed where the workspace cannot be read.
func completeLabels(e *env, opts *options) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if toComplete != "" && !strings.HasPrefix(toComplete, "//") && !strings.HasPrefix(toComplete, "-//") {
			if c.Name() == "fmt" {
				return []string{"star"}, cobra.ShellCompDirectiveFilterFileExt // fmt takes .star files too
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		s, err := openSession(e, opts)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		negative := strings.HasPrefix(toComplete, "-")
		typed := strings.TrimPrefix(toComplete, "-")
		sign := map[bool]string{true: "-", false: ""}[negative]
		if pkg, name, ok := strings.Cut(strings.TrimPrefix(typed, "//"), ":"); ok && strings.HasPrefix(typed, "//") {
			res, err := s.loader.Load(context.Background(), []string{pkg}, nil)
			if err != nil || res.Loaded[pkg] == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []string
			for _, im := range append([]string{"all"}, imageNames(res.Loaded[pkg].Images)...) {
				if strings.HasPrefix(im, name) {
					out = append(out, sign+"//"+pkg+":"+im)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		}
		pkgs, err := s.loader.Packages()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		if strings.HasPrefix("//...", typed) {
			out = append(out, sign+"//...")
		}
		for _, p := range pkgs {
			if p == "" {
				continue
			}
			for _, cand := range []string{"//" + p, "//" + p + "/...", "//" + p + ":"} {
				if strings.HasPrefix(cand, typed) {
					out = append(out, sign+cand)
				}
			}
		}
		slices.Sort(out)
		return slices.Compact(out), cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
}

func imageNames(images []*rules.Image) []string {
	var out []string
	for _, im := range images {
		out = append(out, im.Label.Name)
	}
	return out
}

// completeFlagValues completes the values of the flags that take one of a
// few: --platform and --output (a command's own formats).
func completeFlagValues(c *cobra.Command) {
	fixed := func(values ...string) cobra.CompletionFunc {
		return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
	}
	c.RegisterFlagCompletionFunc("platform", fixed("aws", "local"))
	c.RegisterFlagCompletionFunc("output", func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if c.Name() == "query" {
			return query.Formats(), cobra.ShellCompDirectiveNoFileComp
		}
		return []string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp
	})
}
