package ec2sim

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// keyPair is an EC2 key pair; the simulator keeps only its public half, as
// EC2 does. An instance's SSH server accepts the key of the pair it was
// launched with.
type keyPair struct {
	seq         uint64
	id          string
	name        string
	keyType     string // rsa or ed25519
	fingerprint string
	publicKey   ssh.PublicKey
	created     time.Time
	tags        map[string]string
}

func (kp *keyPair) order() uint64 { return kp.seq }

func checkKeyName(name string) *apiError {
	if name == "" {
		return missing("KeyName")
	}
	if len(name) > 255 {
		return newError("InvalidParameterValue", "Value (%s) for parameter keyName is invalid. Length exceeds maximum of 255.", name)
	}
	for _, r := range name {
		if r < 0x20 || r > 0x7e {
			return newError("InvalidParameterValue", "Value (%s) for parameter keyName is invalid. Character sets beyond ASCII are not supported.", name)
		}
	}
	return nil
}

// addKeyPair registers a key pair named by the call, with its tags.
func (c *call) addKeyPair(name, keyType, fingerprint string, pub ssh.PublicKey) (*keyPair, *apiError) {
	if c.region.keyPairs[name] != nil {
		return nil, newError("InvalidKeyPair.Duplicate", "The keypair '%s' already exists.", name)
	}
	specs, err := c.params.tagSpecs("key-pair")
	if err != nil {
		return nil, err
	}
	kp := &keyPair{
		seq: c.sim.nextSeq(), id: newID("key-"), name: name, keyType: keyType, fingerprint: fingerprint,
		publicKey: pub, created: c.now, tags: cloneTags(specs["key-pair"]),
	}
	c.region.keyPairs[name] = kp
	return kp, nil
}

func importKeyPair(c *call) (any, *apiError) {
	p := c.params
	name := p.get("KeyName")
	if err := checkKeyName(name); err != nil {
		return nil, err
	}
	if !p.has("PublicKeyMaterial") {
		return nil, missing("PublicKeyMaterial")
	}
	// The material travels base64-encoded, as a blob does in the Query API.
	material, derr := base64.StdEncoding.DecodeString(p.get("PublicKeyMaterial"))
	if derr != nil {
		material = []byte(p.get("PublicKeyMaterial"))
	}
	pub, _, _, _, perr := ssh.ParseAuthorizedKey(material)
	if perr != nil {
		return nil, newError("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
	}
	var keyType, fingerprint string
	switch pub.Type() {
	case ssh.KeyAlgoRSA:
		// RFC 4716's MD5 fingerprint, for imported RSA keys.
		keyType, fingerprint = "rsa", ssh.FingerprintLegacyMD5(pub)
	case ssh.KeyAlgoED25519:
		keyType, fingerprint = "ed25519", sha256Fingerprint(pub)
	default:
		return nil, newError("InvalidKey.Format", "Key is not in valid OpenSSH public key format (%s keys are not supported: use RSA or ED25519)", pub.Type())
	}
	kp, err := c.addKeyPair(name, keyType, fingerprint, pub)
	if err != nil {
		return nil, err
	}
	return &keyPairResponse{Fingerprint: kp.fingerprint, Name: kp.name, ID: kp.id, Tags: tagSet(kp.tags)}, nil
}

// sha256Fingerprint is how EC2 writes an ED25519 key's fingerprint.
func sha256Fingerprint(pub ssh.PublicKey) string {
	sum := sha256.Sum256(pub.Marshal())
	return base64.StdEncoding.EncodeToString(sum[:])
}

func createKeyPair(c *call) (any, *apiError) {
	p := c.params
	name := p.get("KeyName")
	if err := checkKeyName(name); err != nil {
		return nil, err
	}
	if c.region.keyPairs[name] != nil {
		return nil, newError("InvalidKeyPair.Duplicate", "The keypair '%s' already exists.", name)
	}
	if f := p.get("KeyFormat"); f != "" && f != "pem" {
		return nil, newError("InvalidParameterValue", "Value (%s) for parameter KeyFormat is invalid: the simulator writes pem keys only.", f)
	}
	var (
		material    []byte
		fingerprint string
		pub         ssh.PublicKey
		err         error
	)
	keyType := p.get("KeyType")
	switch keyType {
	case "", "rsa":
		keyType = "rsa"
		var key *rsa.PrivateKey
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, internalError(err)
		}
		material = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		// EC2's fingerprint of a key it made: SHA-1 of the PKCS#8 key.
		der, merr := x509.MarshalPKCS8PrivateKey(key)
		if merr != nil {
			return nil, internalError(merr)
		}
		sum := sha1.Sum(der)
		fingerprint = colonHex(sum[:])
		pub, err = ssh.NewPublicKey(&key.PublicKey)
	case "ed25519":
		var key ed25519.PrivateKey
		var pubKey ed25519.PublicKey
		if pubKey, key, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return nil, internalError(err)
		}
		block, merr := ssh.MarshalPrivateKey(key, "")
		if merr != nil {
			return nil, internalError(merr)
		}
		material = pem.EncodeToMemory(block)
		if pub, err = ssh.NewPublicKey(pubKey); err == nil {
			fingerprint = sha256Fingerprint(pub)
		}
	default:
		return nil, newError("InvalidParameterValue", "Value (%s) for parameter KeyType is invalid. Valid values are: rsa, ed25519", keyType)
	}
	if err != nil {
		return nil, internalError(err)
	}
	kp, aerr := c.addKeyPair(name, keyType, fingerprint, pub)
	if aerr != nil {
		return nil, aerr
	}
	return &createKeyPairResponse{
		keyPairResponse: keyPairResponse{Fingerprint: kp.fingerprint, Name: kp.name, ID: kp.id, Tags: tagSet(kp.tags)},
		Material:        string(material),
	}, nil
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

func deleteKeyPair(c *call) (any, *apiError) {
	p, r := c.params, c.region
	name, id := p.get("KeyName"), p.get("KeyPairId")
	if name == "" && id == "" {
		return nil, missing("KeyName")
	}
	var kp *keyPair
	if id != "" {
		for _, k := range r.keyPairs {
			if k.id == id {
				kp = k
			}
		}
		if kp == nil {
			return nil, notFound("key pair", []string{id})
		}
	} else {
		kp = r.keyPairs[name]
	}
	out := &deleteKeyPairResponse{Return: true}
	// Deleting a key pair that is not there succeeds, by name.
	if kp != nil {
		delete(r.keyPairs, kp.name)
		out.KeyPairID = kp.id
	}
	return out, nil
}

func describeKeyPairs(c *call) (any, *apiError) {
	p, r := c.params, c.region
	fs, err := p.filters()
	if err != nil {
		return nil, err
	}
	if err := checkFilters(fs, keyPairField(&keyPair{})); err != nil {
		return nil, err
	}
	includePublic, _, err := p.boolean("IncludePublicKey")
	if err != nil {
		return nil, err
	}
	names, ids := p.list("KeyName"), p.list("KeyPairId")
	var candidates []*keyPair
	if len(names) > 0 || len(ids) > 0 {
		var missingIDs []string
		for _, n := range names {
			if kp := r.keyPairs[n]; kp != nil {
				candidates = append(candidates, kp)
			} else {
				missingIDs = append(missingIDs, n)
			}
		}
	ids:
		for _, id := range ids {
			for _, kp := range r.keyPairs {
				if kp.id == id {
					candidates = append(candidates, kp)
					continue ids
				}
			}
			missingIDs = append(missingIDs, id)
		}
		if len(missingIDs) > 0 {
			return nil, notFound("key pair", missingIDs)
		}
	} else {
		candidates = byOrder(r.keyPairs)
	}
	out := &describeKeyPairsResponse{}
	for _, kp := range candidates {
		if !matches(fs, kp.tags, keyPairField(kp)) {
			continue
		}
		x := keyPairXML{ID: kp.id, Fingerprint: kp.fingerprint, Name: kp.name, Type: kp.keyType,
			Tags: tagSet(kp.tags), Created: formatTime(kp.created)}
		if includePublic {
			x.PublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(kp.publicKey)))
		}
		out.Keys.Items = append(out.Keys.Items, x)
	}
	return out, nil
}

func keyPairField(kp *keyPair) fieldFunc {
	return func(name string) ([]string, bool) {
		switch name {
		case "key-name":
			return []string{kp.name}, true
		case "key-pair-id":
			return []string{kp.id}, true
		case "fingerprint":
			return []string{kp.fingerprint}, true
		case "key-type":
			return []string{kp.keyType}, true
		}
		return nil, false
	}
}

// The XML of key pairs.

type keyPairResponse struct {
	Fingerprint string          `xml:"keyFingerprint"`
	Name        string          `xml:"keyName"`
	ID          string          `xml:"keyPairId"`
	Tags        itemSet[tagXML] `xml:"tagSet"`
}

type createKeyPairResponse struct {
	keyPairResponse
	Material string `xml:"keyMaterial"`
}

type deleteKeyPairResponse struct {
	Return    bool   `xml:"return"`
	KeyPairID string `xml:"keyPairId,omitempty"`
}

type keyPairXML struct {
	ID          string          `xml:"keyPairId"`
	Fingerprint string          `xml:"keyFingerprint"`
	Name        string          `xml:"keyName"`
	Type        string          `xml:"keyType"`
	Tags        itemSet[tagXML] `xml:"tagSet"`
	PublicKey   string          `xml:"publicKey,omitempty"`
	Created     string          `xml:"createTime"`
}

type describeKeyPairsResponse struct {
	Keys itemSet[keyPairXML] `xml:"keySet"`
}
