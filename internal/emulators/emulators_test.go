package emulators

import (
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"
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
	bin := binary(t, "dynalite")
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := run(bin, []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.waitReady("127.0.0.1:"+strconv.Itoa(port), time.Now().Add(startTimeout)); err != nil {
		t.Fatal(err)
	}
	p.stop()
	select {
	case <-p.exited:
	default:
		t.Fatal("stop returned before the process exited")
	}
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
