// Command imgraph is a build graph for machine images: it keys every image
// by the content of its inputs and bakes only the images whose key changed.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/imgraph/imgraph/bake"
	"github.com/imgraph/imgraph/internal/sandbox"
)

func main() {
	// A sandbox of the local platform's bakes, this program re-executed,
	// never reaches the CLI.
	sandbox.MaybeRun()

	hurry := make(chan struct{})
	ctx, cancel := context.WithCancel(bake.WithHurry(context.Background(), hurry))
	signals := make(chan os.Signal, 3)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first Ctrl-C cancels: every bake undoes its work, then
		// imgraph exits 130. The second stops the cleanups' waits: what
		// can be undone at once is, and what is left is listed. The third
		// exits at once.
		<-signals
		fmt.Fprintln(os.Stderr, "imgraph: interrupted; cleaning up (Ctrl-C again to stop waiting)")
		cancel()
		<-signals
		fmt.Fprintln(os.Stderr, "imgraph: interrupted again; undoing what can be undone at once (Ctrl-C again to exit now)")
		close(hurry)
		<-signals
		os.Exit(exitInterrupted)
	}()
	dir, err := os.Getwd()
	if err != nil {
		dir = "."
	}
	code := run(ctx, &env{dir: dir, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv}, os.Args[1:])
	os.Exit(code)
}
