package verify

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/setting"
)

// Option configures a Verifier.
type Option func(*options)

type options struct {
	remote      []remote.Option
	auth        registry.Auth
	format      artifact.Format
	onlyFormat  bool
	recursive   bool
	concurrency int
	// attestations are the predicate types required (WithAttestations).
	attestations []string
	briefPass    bool
	bundleBytes  bool
}

// WithRegistry sets the go-containerregistry options (credentials,
// transport) for every registry call, and the credentials' sources for
// error messages. The default is anonymous access with
// http.DefaultTransport.
func WithRegistry(auth registry.Auth, opts ...remote.Option) Option {
	return func(o *options) { o.auth, o.remote = auth, opts }
}

// WithFormat sets which image signature formats count:
// artifact.FormatAny, FormatBundle or FormatLegacy. Signatures in another
// format are still listed in the report, as not accepted. The default is
// FormatAny.
func WithFormat(f artifact.Format) Option { return func(o *options) { o.format = f } }

// WithOnlyFormat is WithFormat that does not look for signatures in the
// other formats at all (the report then cannot say one was found but not
// accepted), saving their requests: for a caller that only needs what
// passes, such as a signer looking for what it signed already.
func WithOnlyFormat(f artifact.Format) Option {
	return func(o *options) { o.format, o.onlyFormat = f, true }
}

// WithRecursive also verifies each platform manifest of an image index, each
// of which must then pass on its own. The default is false: an index is
// verified as one artifact.
func WithRecursive(r bool) Option { return func(o *options) { o.recursive = r } }

// WithConcurrency bounds how many artifacts are verified at once, 1 to
// setting.MaxConcurrency. The default is setting.DefaultConcurrency.
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

// WithBriefPass makes a signature that sigstore-go's full verification
// passes skip the step-by-step checks that repeat it (signature, log
// inclusion, timestamps, certificate chain and SCT): its report holds its
// log entry, trusted times and identity, those checks say they were made
// by sigstore-go, and the checks sigstore-go does not make (cosign's
// claims, subject and predicate type, identity details, provenance) are
// made as always. A signature that fails is checked and explained step by
// step. For callers that act on the verdict, not on the report: sign's
// lookup of what is signed already halves its CPU with it.
func WithBriefPass() Option { return func(o *options) { o.briefPass = true } }

// WithBundleBytes keeps each bundle's bytes in the report
// (Signature.BundleJSON), for a caller that writes them elsewhere (sign's
// skip-signed attaches a bundle found in one repository to the others).
// Without it they are dropped once checked: a report of 1,000 images
// holding every bundle and provenance read was most of a run's memory.
func WithBundleBytes() Option { return func(o *options) { o.bundleBytes = true } }

// Verifier checks signatures against one trusted root and one identity
// policy. It is safe for concurrent use.
type Verifier struct {
	o       options
	trusted root.TrustedMaterial
	policy  *Policy
	sg      *sgverify.Verifier
	// requireSCT is set when the trusted root lists certificate
	// transparency logs.
	requireSCT bool
	// checked holds the outcome of each image bundle checked (see
	// evaluate): one bundle is found in every repository of its digest.
	// Copies of the Verifier share it.
	checked *sync.Map // bundleKey → Signature
	// scts holds each certificate chain's SCT verification (see
	// checkChain): a run's signatures mostly share one certificate, and
	// verifying its SCT again for each (parsing the extension, an ECDSA
	// verification) was a tenth of the CPU of verifying 1,000 images.
	// Copies of the Verifier share it.
	scts *sync.Map // sha256 of the chains → error (nil: verified)
}

// New returns a Verifier that accepts what the trusted material vouches for
// and the policy allows.
//
// Every signature must carry a transparency log entry that verifies offline
// against a log of the trusted material, a trusted time (the log's
// integrated time or an RFC 3161 timestamp from a trusted timestamp
// authority) at which its certificate chains to a Fulcio CA of the trusted
// material, and, when the trusted material lists certificate transparency
// logs, a signed certificate timestamp. A policy with a public key
// (WithPublicKey) adds the key to the trusted material and checks it in
// place of a certificate.
func New(trusted root.TrustedMaterial, policy *Policy, opts ...Option) (*Verifier, error) {
	o := options{format: artifact.FormatAny, concurrency: setting.DefaultConcurrency}
	for _, opt := range opts {
		opt(&o)
	}
	var errs []error
	if trusted == nil {
		errs = append(errs, errors.New("no trusted root"))
	}
	if policy == nil || policy.expected == (artifact.Requirement{}) {
		errs = append(errs, errors.New("no identity policy (build one with NewPolicy)"))
	}
	if _, err := artifact.ParseFormat(string(o.format), "", artifact.FormatAny, artifact.FormatBundle, artifact.FormatLegacy); err != nil {
		errs = append(errs, &setting.Error{Setting: setting.Format, Err: err})
	}
	if err := setting.CheckConcurrency(o.concurrency); err != nil {
		errs = append(errs, err)
	}
	if err := checkAttestationOptions(o.attestations); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if policy.key != nil {
		verifier, err := signature.LoadDefaultVerifier(policy.key)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		keyMaterial := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(verifier, time.Time{}, time.Time{}), nil
		})
		trusted = root.TrustedMaterialCollection{keyMaterial, trusted}
	}
	// SCTs are for certificates: a key has none.
	v := &Verifier{o: o, trusted: trusted, policy: policy, requireSCT: len(trusted.CTLogs()) > 0 && policy.key == nil, checked: new(sync.Map), scts: new(sync.Map)}
	vopts := []sgverify.VerifierOption{sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1)}
	if v.requireSCT {
		vopts = append(vopts, sgverify.WithSignedCertificateTimestamps(1))
	}
	sg, err := sgverify.NewVerifier(trusted, vopts...)
	if err != nil {
		return nil, err
	}
	v.sg = sg
	return v, nil
}
