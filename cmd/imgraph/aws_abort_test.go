package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// With --on-error=abort a failed bake leaves its instance running, with
// its key pair and group; the key file it prints (0600, under
// imgraph-out/) and the address, port and user it prints reach the
// instance over SSH; `imgraph cleanup --run RUN`, as printed, removes it
// all.
func TestAWSOnErrorAbort(t *testing.T) {
	sim := startSim(t)
	ws := &testWorkspace{root: filepath.Join(t.TempDir(), "ws"), cache: filepath.Join(t.TempDir(), "cache")}
	writeFiles(t, ws.root, map[string]string{
		"IMAGES.star": `workspace(name = "t", platform = "aws")` + "\n",
		"broken/IMAGES.star": `image(
    name = "broken",
    source = ami_filter(owners = ["amazon"], name = "al2023-ami-2023.*-x86_64"),
    provision = [shell(inline = ["echo half done > /etc/half", "exit 3"])],
)
`,
	})
	r := ws.imgraph(t, nil, "build", "//broken", "--on-error=abort")
	if r.code != exitBakeFailed {
		t.Fatalf("build of a failing image with --on-error=abort: %v", r)
	}
	out := r.stdout + r.stderr
	reach := regexp.MustCompile(`ssh -i (\S+) -p (\d+) (\S+)@(\S+)`).FindStringSubmatch(out)
	remove := regexp.MustCompile(`imgraph cleanup --run (\S+)`).FindStringSubmatch(out)
	if reach == nil || remove == nil || !strings.Contains(out, "left for debugging (--on-error=abort)") {
		t.Fatalf("the build does not say what it left and how to reach it:\n%v", r)
	}
	keyFile, port, user, addr, run := reach[1], reach[2], reach[3], reach[4], remove[1]
	if rel, err := filepath.Rel(filepath.Join(ws.root, "imgraph-out"), keyFile); err != nil || strings.HasPrefix(rel, "..") {
		t.Errorf("key file %s is not under imgraph-out/", keyFile)
	}
	info, err := os.Stat(keyFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, mode %v; want 0600", keyFile, err, info.Mode().Perm())
	}
	if left := leftovers(sim); len(left) != 4 {
		t.Errorf("left %v, want the instance (and its volume), its key pair and its group", left)
	}

	pem, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatalf("the key file holds no private key: %v", err)
	}
	client, err := ssh.Dial("tcp", addr+":"+port, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // the simulator's host key is the instance's own
		Timeout:         testTimeout,
	})
	if err != nil {
		t.Fatalf("ssh %s@%s:%s with %s: %v", user, addr, port, keyFile, err)
	}
	session, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	got, err := session.Output("cat /etc/half")
	client.Close()
	if err != nil || string(got) != "half done\n" {
		t.Errorf("on the instance left: %q, %v; want what the failed provisioner wrote", got, err)
	}

	if r := ws.imgraph(t, nil, "cleanup", "--run", run); r.code != exitOK || !strings.Contains(r.stdout, "removed instance") {
		t.Fatalf("cleanup --run %s: %v", run, r)
	}
	if left := leftovers(sim); len(left) > 0 {
		t.Errorf("cleanup --run left %v", left)
	}
}
