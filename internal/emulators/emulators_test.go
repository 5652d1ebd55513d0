package emulators

import (
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
)

func TestStart(t *testing.T) {
	ep := Start(t)
	for name, url := range map[string]string{"dynalite": ep.DynamoDB, "s3rver": ep.S3} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("%s at %s: %v", name, url, err)
		}
		resp.Body.Close()
	}
	if os.Getenv("AWS_ENDPOINT_URL_S3") != ep.S3 || os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != ep.DynamoDB {
		t.Errorf("the AWS SDK is not pointed at the emulators")
	}
}

func TestStopEndsTheProcess(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := run(binary(t, "dynalite"), dynalite.args(port), dynalite.listening)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.waitListening(startTimeout); err != nil {
		t.Fatal(err)
	}
	p.stop()
	select {
	case <-p.exited:
	default:
		t.Fatal("stop returned before the process exited")
	}
}

// An emulator whose port another process took must not be taken for
// ready because that other process answers there.
func TestAPortTakenFirstIsNotMistakenForTheEmulator(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	p, err := run(binary(t, "dynalite"), dynalite.args(taken.Addr().(*net.TCPAddr).Port), dynalite.listening)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	if port, err := p.waitListening(startTimeout); err == nil {
		t.Fatalf("dynalite said it listens on %d, a port held by the test", port)
	}
	if !strings.Contains(p.output(), "EADDRINUSE") {
		t.Errorf("dynalite failed, but not for the port in use:\n%s", p.output())
	}
}

func TestS3rverChoosesItsOwnPort(t *testing.T) {
	ep := StartS3(t)
	if strings.HasSuffix(ep, ":0") {
		t.Fatalf("endpoint %s: the port s3rver chose was not read", ep)
	}
	resp, err := http.Get(ep)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestModuleRoot(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root + "/internal/emulators/package.json"); err != nil {
		t.Errorf("moduleRoot = %s: %v", root, err)
	}
}
