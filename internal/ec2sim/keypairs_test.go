//go:build linux

package ec2sim_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/imgraph/imgraph/internal/ec2sim"
)

func TestKeyPairs(t *testing.T) {
	w := newWorld(t, ec2sim.Options{})
	c := w.ec2(home)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := ssh.NewPublicKey(pub)
	imported := must[*ec2.ImportKeyPairOutput](t)(c.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{
		KeyName: aws.String("imgraph-run-1"), PublicKeyMaterial: ssh.MarshalAuthorizedKey(sshPub),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeKeyPair, Tags: []types.Tag{tag("imgraph:run", "r1")}}},
	}))
	sum := sha256.Sum256(sshPub.Marshal())
	if *imported.KeyName != "imgraph-run-1" || *imported.KeyFingerprint != base64.StdEncoding.EncodeToString(sum[:]) ||
		tagMap(imported.Tags)["imgraph:run"] != "r1" || imported.KeyPairId == nil {
		t.Errorf("ImportKeyPair answered %+v", imported)
	}
	_, err := c.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("imgraph-run-1"), PublicKeyMaterial: ssh.MarshalAuthorizedKey(sshPub)})
	wantCode(t, err, "InvalidKeyPair.Duplicate")
	_, err = c.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("bad"), PublicKeyMaterial: []byte("not a key")})
	wantCode(t, err, "InvalidKey.Format")

	created := must[*ec2.CreateKeyPairOutput](t)(c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("made"), KeyType: types.KeyTypeEd25519}))
	signer, err := ssh.ParsePrivateKey([]byte(*created.KeyMaterial))
	if err != nil {
		t.Fatalf("CreateKeyPair's key material: %v", err)
	}
	sum = sha256.Sum256(signer.PublicKey().Marshal())
	if *created.KeyFingerprint != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("fingerprint %s does not match the key", *created.KeyFingerprint)
	}
	rsaKey := must[*ec2.CreateKeyPairOutput](t)(c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("made-rsa")}))
	if _, err := ssh.ParsePrivateKey([]byte(*rsaKey.KeyMaterial)); err != nil {
		t.Errorf("an RSA key pair's material: %v", err)
	}

	desc := must[*ec2.DescribeKeyPairsOutput](t)(c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
		Filters: []types.Filter{filter("tag:imgraph:run", "r1")}, IncludePublicKey: aws.Bool(true),
	}))
	if len(desc.KeyPairs) != 1 || *desc.KeyPairs[0].KeyPairId != *imported.KeyPairId || desc.KeyPairs[0].KeyType != types.KeyTypeEd25519 ||
		*desc.KeyPairs[0].PublicKey == "" || desc.KeyPairs[0].CreateTime == nil {
		t.Errorf("DescribeKeyPairs by tag: %+v", desc.KeyPairs)
	}
	all := must[*ec2.DescribeKeyPairsOutput](t)(c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{}))
	if len(all.KeyPairs) != 3 {
		t.Errorf("%d key pairs; want 3", len(all.KeyPairs))
	}
	_, err = c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"nobody"}})
	wantCode(t, err, "InvalidKeyPair.NotFound")
	if got := must[*ec2.DescribeKeyPairsOutput](t)(w.ec2(away).DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})); len(got.KeyPairs) != 0 {
		t.Errorf("key pairs of %s seen in %s", home, away)
	}

	// Deleting by name is idempotent; by an unknown id it is not.
	if _, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("imgraph-run-1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("imgraph-run-1")}); err != nil {
		t.Errorf("deleting a deleted key pair by name: %v", err)
	}
	_, err = c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: imported.KeyPairId})
	wantCode(t, err, "InvalidKeyPair.NotFound")
	_, err = c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"imgraph-run-1"}})
	wantCode(t, err, "InvalidKeyPair.NotFound")
	if _, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: created.KeyPairId}); err != nil {
		t.Errorf("DeleteKeyPair by id: %v", err)
	}
}
