package tbenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"os"
	"testing"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// TrustedRootWith returns the bed's trusted root as edit leaves it: tests
// derive variants of it (another CT log, none, another CA) to see what
// verifiers refuse. A nil edit returns the bed's root as it is.
func (e *Env) TrustedRootWith(t testing.TB, edit func(*prototrustroot.TrustedRoot)) *root.TrustedRoot {
	t.Helper()
	raw, err := os.ReadFile(e.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := root.NewTrustedRootProtobuf(raw)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(pb)
	}
	tr, err := root.NewTrustedRootFromProtobuf(pb)
	if err != nil {
		t.Fatalf("the edited trusted root does not load: %v", err)
	}
	return tr
}

// AnotherCTLogKey is an edit for TrustedRootWith that gives each CT log of
// the root a new ECDSA P-256 key, so no SCT of the bed's CT log verifies.
// With sameLogID the log keeps its ID: the bed's SCTs name a log the root
// lists, and their signatures fail under its key. Without, the log's ID
// is the new key's, as for a log of another instance: the SCTs name a log
// the root does not list.
func AnotherCTLogKey(t testing.TB, sameLogID bool) func(*prototrustroot.TrustedRoot) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256(der)
	return func(tr *prototrustroot.TrustedRoot) {
		if len(tr.GetCtlogs()) == 0 {
			t.Fatal("the bed's trusted root lists no CT log to replace")
		}
		for _, l := range tr.GetCtlogs() {
			l.PublicKey.RawBytes = der
			l.PublicKey.KeyDetails = protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
			if !sameLogID {
				l.LogId = &protocommon.LogId{KeyId: id[:]}
			}
		}
	}
}
