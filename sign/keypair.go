package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// DigestSigner is a key pair that can also sign a SHA-256 digest computed
// elsewhere. The run's own key pair is one: a file is streamed through
// SHA-256 and its digest signed, never held in memory (sigstore-go's
// EphemeralKeypair signs only data it hashes itself, which for a 2 GiB
// release archive means 2 GiB of memory). A key pair given with
// WithKeypair that is not one signs files from memory.
type DigestSigner interface {
	sgsign.Keypair
	// SignDigest signs a SHA-256 digest.
	SignDigest(ctx context.Context, digest []byte) ([]byte, error)
}

// ecdsaKeypair is the run's ephemeral ECDSA P-256 key pair, as
// sigstore-go's EphemeralKeypair makes by default.
type ecdsaKeypair struct {
	key  *ecdsa.PrivateKey
	hint []byte
}

var _ DigestSigner = (*ecdsaKeypair)(nil)

func newKeypair() (*ecdsaKeypair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &ecdsaKeypair{key: key, hint: []byte(base64.StdEncoding.EncodeToString(sum[:]))}, nil
}

func (k *ecdsaKeypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}

func (k *ecdsaKeypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}

func (k *ecdsaKeypair) GetHint() []byte                { return k.hint }
func (k *ecdsaKeypair) GetKeyAlgorithm() string        { return "ECDSA" }
func (k *ecdsaKeypair) GetPublicKey() crypto.PublicKey { return k.key.Public() }

func (k *ecdsaKeypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.key.Public())
	return string(b), err
}

// SignData signs the SHA-256 digest of data and returns the signature and
// the digest.
func (k *ecdsaKeypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	sum := sha256.Sum256(data)
	sig, err := k.SignDigest(ctx, sum[:])
	return sig, sum[:], err
}

func (k *ecdsaKeypair) SignDigest(_ context.Context, digest []byte) ([]byte, error) {
	if len(digest) != sha256.Size {
		return nil, errors.New("not a SHA-256 digest")
	}
	return ecdsa.SignASN1(rand.Reader, k.key, digest)
}

// prehashed is a key pair whose SignData takes the SHA-256 digest of the
// content rather than the content: the view of a DigestSigner that
// sigstore-go's Bundle gets for a streamed file.
type prehashed struct{ DigestSigner }

func (p prehashed) SignData(ctx context.Context, digest []byte) ([]byte, []byte, error) {
	sig, err := p.SignDigest(ctx, digest)
	return sig, digest, err
}
