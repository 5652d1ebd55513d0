package aws

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/imgraph/imgraph/bake"
)

// stepKeyPair makes a temporary ed25519 key pair: the private key is made
// here and never leaves the process; EC2 gets the public key only.
// Ed25519 is accepted by every OpenSSH that refuses ssh-rsa.
type stepKeyPair struct{}

func (*stepKeyPair) Name() string { return "key pair" }

func (*stepKeyPair) Run(ctx context.Context, s *bakeState) error {
	s.phase(bake.PhasePrepare)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	s.signer, s.abort.privateKey = signer, priv
	// Named before the call, so the cleanup can delete it by name even if
	// the answer never arrives.
	s.keyName = resourceName(s, "key")
	out, err := s.ec2.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{
		KeyName:           awssdk.String(s.keyName),
		PublicKeyMaterial: ssh.MarshalAuthorizedKey(sshPub),
		TagSpecifications: tagSpecs(s.tempTags(), types.ResourceTypeKeyPair),
	})
	if err == nil && awssdk.ToString(out.KeyPairId) != "" {
		s.beating(awssdk.ToString(out.KeyPairId))
	}
	// Duplicate: an attempt whose answer was lost made it; the name is
	// ours alone.
	if err != nil && errorCode(err) != "InvalidKeyPair.Duplicate" {
		return fmt.Errorf("importing key pair %s: %w", s.keyName, err)
	}
	return nil
}

func (*stepKeyPair) Cleanup(ctx context.Context, s *bakeState) error {
	if s.keyName == "" || s.abort.left {
		return nil
	}
	_, err := s.ec2.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: awssdk.String(s.keyName)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting key pair %s: %w", s.keyName, err)
	}
	return nil
}
