package sign_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/pki"
	"github.com/sigstore/rekor/pkg/types"
	dssetype "github.com/sigstore/rekor/pkg/types/dsse"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1" // the dsse entry kind
	"github.com/sigstore/rekor/pkg/types/hashedrekord"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // the hashedrekord entry kind
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/sigil-dev/sigil/sign"
)

// The signer's services, in process: sigstore-go's virtual Sigstore issues
// the certificate (for a key it made) and signs the log's entries, and
// go-containerregistry's in-memory registry holds the images. Nothing here
// talks to a real Sigstore; the bed tests (verify/, e2e/) do that.

const (
	testSubject = "release@sigil.example"
	testIssuer  = "https://token.actions.githubusercontent.com"
)

// keypair is a sigstore-go Keypair over a given ECDSA P-256 key, the one
// the virtual Sigstore certified.
type keypair struct{ key *ecdsa.PrivateKey }

func (k keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}
func (k keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}
func (k keypair) GetHint() []byte                { return nil }
func (k keypair) GetKeyAlgorithm() string        { return "ECDSA" }
func (k keypair) GetPublicKey() crypto.PublicKey { return k.key.Public() }
func (k keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.key.Public())
	return string(b), err
}
func (k keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	d := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, d[:])
	return sig, d[:], err
}

// digestKeypair is keypair signing prehashed files too (sign.DigestSigner),
// as the run's own key pair does.
type digestKeypair struct{ keypair }

func (k digestKeypair) SignDigest(_ context.Context, digest []byte) ([]byte, error) {
	return ecdsa.SignASN1(rand.Reader, k.key, digest)
}

// certs is a CertificateSource serving one chain, or an error.
type certs struct {
	chain []*x509.Certificate
	err   error
	calls atomic.Int32
}

func (c *certs) Chain(context.Context) ([]*x509.Certificate, error) {
	c.calls.Add(1)
	return c.chain, c.err
}

// virtualLog is a Rekor v1 log signed by the virtual Sigstore's key: each
// entry is the canonical hashedrekord or dsse body, with a signed entry
// timestamp and an inclusion proof in a one-leaf tree (so every index is 0).
type virtualLog struct {
	vs   *ca.VirtualSigstore
	fail error
	mu   sync.Mutex
	// bodies are the entries made, in order.
	bodies []string
}

func (l *virtualLog) entries() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.bodies)
}

func (l *virtualLog) GetTransparencyLogEntry(ctx context.Context, certPEM []byte, b *protobundle.Bundle) error {
	if l.fail != nil {
		return l.fail
	}
	props := types.ArtifactProperties{PublicKeyBytes: [][]byte{certPEM}, PKIFormat: string(pki.X509)}
	kind := hashedrekord.KIND
	switch {
	case b.GetMessageSignature() != nil:
		props.ArtifactHash = hex.EncodeToString(b.GetMessageSignature().GetMessageDigest().GetDigest())
		props.SignatureBytes = b.GetMessageSignature().GetSignature()
	case b.GetDsseEnvelope() != nil:
		kind = dssetype.KIND
		e := b.GetDsseEnvelope()
		env, err := json.Marshal(dsse.Envelope{
			PayloadType: e.GetPayloadType(),
			Payload:     base64.StdEncoding.EncodeToString(e.GetPayload()),
			Signatures:  []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(e.GetSignatures()[0].GetSig())}},
		})
		if err != nil {
			return err
		}
		props.ArtifactBytes = env
	default:
		return errors.New("virtual log: the bundle holds no signature")
	}
	pe, err := types.NewProposedEntry(ctx, kind, "0.0.1", props)
	if err != nil {
		return err
	}
	impl, err := types.CreateVersionedEntry(pe)
	if err != nil {
		return err
	}
	body, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return err
	}
	logID, err := l.vs.RekorLogID()
	if err != nil {
		return err
	}
	now := time.Now().Unix()
	set, err := l.vs.RekorSignPayload(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: now, LogIndex: 0, LogID: logID})
	if err != nil {
		return err
	}
	proof, err := l.vs.GetInclusionProof(body)
	if err != nil {
		return err
	}
	rootHash, _ := hex.DecodeString(*proof.RootHash)
	rawID, _ := hex.DecodeString(logID)
	b.VerificationMaterial.TlogEntries = append(b.VerificationMaterial.TlogEntries, &protorekor.TransparencyLogEntry{
		LogIndex:          0,
		LogId:             &protocommon.LogId{KeyId: rawID},
		KindVersion:       &protorekor.KindVersion{Kind: kind, Version: "0.0.1"},
		IntegratedTime:    now,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		InclusionProof:    &protorekor.InclusionProof{LogIndex: *proof.LogIndex, RootHash: rootHash, TreeSize: *proof.TreeSize, Checkpoint: &protorekor.Checkpoint{Envelope: *proof.Checkpoint}},
		CanonicalizedBody: body,
	})
	l.mu.Lock()
	l.bodies = append(l.bodies, string(body))
	l.mu.Unlock()
	return nil
}

// world is one test's Sigstore and registries.
type world struct {
	vs      *ca.VirtualSigstore
	trusted root.TrustedMaterial
	keypair keypair
	certs   *certs
	log     *virtualLog
	// referrers has the OCI referrers API; fallback has none, so bundles
	// go to the sha256-<hex> tag.
	referrers, fallback string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	leaf, priv, err := vs.GenerateLeafCert(testSubject, testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	fca := vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	chain := append([]*x509.Certificate{leaf}, fca.Intermediates...)
	chain = append(chain, fca.Root)
	w := &world{
		vs: vs, trusted: vs, keypair: keypair{priv.(*ecdsa.PrivateKey)},
		certs: &certs{chain: chain}, log: &virtualLog{vs: vs},
		referrers: serveRegistry(t, newRegistry(true)),
		fallback:  serveRegistry(t, newRegistry(false)),
	}
	return w
}

func serveRegistry(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// options are the signer options of the world, then extra.
func (w *world) options(extra ...sign.Option) []sign.Option {
	log := sign.Log{Transparency: w.log, URL: "https://rekor.virtual", Version: 1}
	return append([]sign.Option{
		sign.WithTrustedRoot(w.trusted),
		sign.WithKeypair(w.keypair),
		sign.WithCertificates(w.certs),
		sign.WithTransparencyLog(log),
		sign.WithLegacyLog(log),
	}, extra...)
}

func (w *world) signer(t *testing.T, extra ...sign.Option) *sign.Signer {
	t.Helper()
	s, err := sign.New(w.options(extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// push puts one random image (or, with platforms, an index) at each of
// refs (host/repo:tag) and returns its digest.
func push(t *testing.T, platforms int, refs ...string) string {
	t.Helper()
	var (
		write  func(name.Reference) error
		digest string
	)
	if platforms > 0 {
		idx, err := random.Index(64, 1, int64(platforms))
		if err != nil {
			t.Fatal(err)
		}
		write = func(r name.Reference) error { return remote.WriteIndex(r, idx) }
		digest = must(idx.Digest()).String()
	} else {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		write = func(r name.Reference) error { return remote.Write(r, img) }
		digest = must(img.Digest()).String()
	}
	for _, ref := range refs {
		if err := write(must(name.ParseReference(ref))); err != nil {
			t.Fatal(err)
		}
	}
	return digest
}

// tagExists reports whether the tag reference (host/repo:tag) exists.
func tagExists(ref string) bool {
	_, err := remote.Head(must(name.NewTag(ref)))
	return err == nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// newRegistry is go-containerregistry's in-memory registry, quiet, with or
// without the referrers API.
func newRegistry(referrers bool) http.Handler {
	return registry.New(registry.WithReferrersSupport(referrers), registry.Logger(log.New(io.Discard, "", 0)))
}
