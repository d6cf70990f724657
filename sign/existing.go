package sign

import (
	"context"
	"crypto/x509"

	"github.com/sigil-dev/sigil/registry"
)

// Existing is what an identity already signed of one target: signatures
// that pass verification against the run's trusted root and name the
// identity the run's certificate names.
type Existing struct {
	// Bundle is a bundle referrer already attached, with its Location and
	// log entry, and BundleJSON its bundle.
	Bundle     *Signature
	BundleJSON []byte
	// Legacy is a legacy signature already in the .sig tag.
	Legacy *Signature
	// Attestations are attestations already attached, in either format.
	Attestations []ExistingAttestation
}

// ExistingAttestation is an attestation the identity already attached.
type ExistingAttestation struct {
	// Signature is where it is (Format, Location, ReadBack) and its log
	// entry.
	Signature Signature
	// PredicateType is its statement's; PredicateDigest identifies the
	// predicate's content (see PredicateDigest).
	PredicateType, PredicateDigest string
	// BundleJSON is a bundle attestation's bundle.
	BundleJSON []byte
}

// Finder looks up what the identity of the run's certificate already
// signed of a target. leaf returns that certificate: it is requested while
// the finders read the registries, so a finder should read first and ask
// for it only to check what it read. The error is for a registry that
// cannot be read, or leaf's; finding nothing is no error.
type Finder func(ctx context.Context, t registry.Target, leaf func(context.Context) (*x509.Certificate, error)) (Existing, error)

// WithSkipSigned makes the Signer skip, per target and format, what find
// says the run's identity signed already: nothing is signed, logged or
// pushed for it, and its result is the existing signature, marked
// AlreadySigned. A bundle found in one repository of a digest is attached
// as it is to the other repositories of that digest, with no new log
// entry. The default signs everything.
func WithSkipSigned(find Finder) Option { return func(o *options) { o.existing = find } }
