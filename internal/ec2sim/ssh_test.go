//go:build linux

package ec2sim_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func TestSSH(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	key := w.newKey(home, "bake-key")
	parent := w.run(home, w.base, "bake-key")
	in := w.instance(home, parent)
	addr := w.sshAddr(in)

	// Only the key pair's key gets in.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherKey, _ := ssh.NewSignerFromKey(other)
	if cl, err := dial(addr, otherKey, nil); err == nil {
		cl.Close()
		t.Fatal("SSH accepted a key that is not the instance's key pair")
	} else if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("refusing a key: %v", err)
	}
	var hostKey ssh.PublicKey
	cl, err := dial(addr, key, &hostKey)
	if err != nil {
		t.Fatalf("SSH with the key pair: %v", err)
	}
	defer cl.Close()
	if hostKey.Type() != ssh.KeyAlgoED25519 {
		t.Errorf("host key type %s; want ed25519", hostKey.Type())
	}
	st := w.sim.State().Regions[home].Instances[0]
	if st.SSHHostKey != strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey))) || st.SSH != addr {
		t.Errorf("state shows SSH %s with host key %s; the server is %s with %s", st.SSH, st.SSHHostKey, addr, ssh.MarshalAuthorizedKey(hostKey))
	}

	// Commands run with their stdin, stdout, stderr and exit status.
	stdout, stderr, status := runSSH(t, cl, `echo "hello $USER"; echo oops >&2; exit 3`, "")
	if stdout != "hello ec2-user\n" || stderr != "oops\n" || status != 3 {
		t.Errorf("stdout %q, stderr %q, status %d", stdout, stderr, status)
	}
	stdout, _, status = runSSH(t, cl, `cat > /etc/baked && wc -c < /etc/baked && hostname`, "written by the parent\n")
	if strings.Fields(stdout)[0] != "22" || status != 0 {
		t.Errorf("writing a file through stdin: %q, status %d", stdout, status)
	}
	stdout, _, _ = runSSH(t, cl, `echo $$; ls /proc | grep -c '^[0-9]'`, "")
	if f := strings.Fields(stdout); len(f) != 2 || f[0] != "1" {
		t.Errorf("the command is not alone in its PID namespace: %q", stdout)
	}
	// Environment requests beyond the locale are refused, as sshd's
	// AcceptEnv on Amazon Linux refuses them.
	s, _ := cl.NewSession()
	if err := s.Setenv("SECRET", "x"); err == nil {
		t.Errorf("Setenv SECRET accepted")
	}
	if err := s.Setenv("LANG", "C.UTF-8"); err != nil {
		t.Errorf("Setenv LANG: %v", err)
	}
	out, _ := s.Output("echo $LANG")
	if string(out) != "C.UTF-8\n" {
		t.Errorf("LANG in the session: %q", out)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(busyboxRootfs(t), "etc", "baked")); !os.IsNotExist(err) {
		t.Fatalf("the base image's root filesystem was written: %v", err)
	}

	// Stopping closes the server; CreateImage snapshots the tree.
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{parent}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(addr, key, nil); err == nil {
		t.Fatal("a stopping instance still answers SSH")
	}
	w.instance(home, parent)
	img := must[*ec2.CreateImageOutput](t)(c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(parent), Name: aws.String("child")}))
	if im := w.image(home, *img.ImageId); im.State != types.ImageStateAvailable {
		t.Fatalf("child image is %s", im.State)
	}
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{parent}}); err != nil {
		t.Fatal(err)
	}
	w.instance(home, parent) // terminated: its tree is gone, the image's is not

	child := w.run(home, *img.ImageId, "bake-key")
	childAddr := w.sshAddr(w.instance(home, child))
	cl2, err := dial(childAddr, key, nil)
	if err != nil {
		t.Fatalf("SSH to the child: %v", err)
	}
	defer cl2.Close()
	stdout, _, status = runSSH(t, cl2, "cat /etc/baked", "")
	if stdout != "written by the parent\n" || status != 0 {
		t.Errorf("the child image's instance reads %q (status %d); want what the parent wrote", stdout, status)
	}
	// A reboot for CreateImage (NoReboot false) ends the sessions.
	if _, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(child), Name: aws.String("grandchild")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl2.NewSession(); err == nil {
		t.Errorf("a session opened after the instance rebooted")
	}
}

func TestSSHKillsCommandsOnStop(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	key := w.newKey(home, "k")
	id := w.run(home, w.base, "k")
	cl, err := dial(w.sshAddr(w.instance(home, id)), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	s, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdout, _ := s.StdoutPipe()
	if err := s.Start("echo started; exec sleep 600"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if _, err := stdout.Read(buf); err != nil {
		t.Fatal(err)
	}
	// Stopping the instance ends the command and the connection at once.
	if _, err := w.ec2(home).StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err == nil {
		t.Errorf("a command of a stopped instance ended well")
	}
}

// Simulators in other processes hand out the same loopback addresses. An
// address whose SSH port another process holds is passed over at launch,
// and an instance whose address is taken while it boots moves before it
// is described as running: a client never reaches another's instance.
func TestSSHAddressHeldByAnotherProcess(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	key := w.newKey(home, "bake-key")
	hold := func(addr string) net.Listener {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	held := hold(net.JoinHostPort("127.0.0.2", strconv.Itoa(w.opts.SSHPort)))
	first := w.instance(home, w.run(home, w.base, "bake-key"))
	if addr := w.sshAddr(first); addr == held.Addr().String() {
		t.Fatalf("the instance was given %s, held by another process", addr)
	}

	out, err := w.ec2(home).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(w.base),
		InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), KeyName: aws.String("bake-key")})
	if err != nil {
		t.Fatal(err)
	}
	pending := out.Instances[0]
	taken := hold(w.sshAddr(pending)) // taken while it boots
	running := w.instance(home, *pending.InstanceId)
	if running.State.Name != types.InstanceStateNameRunning {
		t.Fatalf("instance is %s, want running", running.State.Name)
	}
	addr := w.sshAddr(running)
	if addr == taken.Addr().String() {
		t.Fatalf("the running instance still shows %s, taken by another process", addr)
	}
	st := w.sim.State().Regions[home].Instances
	for _, in := range st {
		if in.ID == *running.InstanceId && (in.SSH != addr || in.SSHError != "") {
			t.Errorf("state shows SSH %s (%s), want %s", in.SSH, in.SSHError, addr)
		}
	}
	cl, err := dial(addr, key, nil)
	if err != nil {
		t.Fatalf("SSH to the moved instance: %v", err)
	}
	cl.Close()
}
