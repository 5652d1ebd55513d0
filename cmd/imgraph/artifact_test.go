package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imgraph/imgraph/internal/emulators"
)

// TestArtifactFromS3 bakes a local image whose artifact lives in S3 (the
// emulator): imgraph fetches it, checks its digest, and the provisioner
// finds it at $IMGRAPH_ARTIFACT_APP; a wrong digest fails the bake.
func TestArtifactFromS3(t *testing.T) {
	emulators.Start(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String("releases")}); err != nil {
		t.Fatal(err)
	}
	jar := "PK\x03\x04 the api, release 1.4.2\n"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String("releases"), Key: awssdk.String("api/api-1.4.2.jar"), Body: strings.NewReader(jar)}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(jar))
	image := func(digest string) string {
		return `image(name = "api", parent = "//base:root",
    artifacts = {"app": artifact(url = "s3://releases/api/api-1.4.2.jar", sha256 = "` + digest + `")},
    provision = [shell(inline = ["cp \"$IMGRAPH_ARTIFACT_APP\" /opt-api.jar"])])`
	}
	ws := newWorkspace(t, map[string]string{
		"base/IMAGES.star": `image(name = "root", source = rootfs(path = "rootfs"))`,
		"api/IMAGES.star":  image(hex.EncodeToString(sum[:])),
	})
	// In a process of its own, so what the AWS SDK might print to the
	// process's standard error is seen.
	if r := ws.start(t, nil, "build", "//api").wait(t); r.code != exitOK {
		t.Fatalf("build: %v", r)
	} else if strings.Contains(r.stderr, "SDK ") {
		t.Errorf("the AWS SDK's own log reached the user:\n%s", r.stderr)
	}
	out := filepath.Join(t.TempDir(), "api")
	if r := ws.imgraph(t, nil, "export", "//api", "--format", "dir", out); r.code != exitOK {
		t.Fatalf("export: %v", r)
	}
	if got, err := os.ReadFile(filepath.Join(out, "opt-api.jar")); err != nil || string(got) != jar {
		t.Fatalf("the image holds %q (%v), want the artifact from S3", got, err)
	}

	wrong := strings.Repeat("0", 64)
	writeFiles(t, ws.root, map[string]string{"api/IMAGES.star": image(wrong)})
	r := ws.imgraph(t, nil, "build", "//api")
	if r.code != exitBakeFailed || !strings.Contains(r.stderr, "s3://releases/api/api-1.4.2.jar: sha256 is "+hex.EncodeToString(sum[:])) {
		t.Fatalf("build with a wrong digest: %v\nwant a failure naming the digest", r)
	}
}
