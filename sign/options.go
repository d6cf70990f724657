package sign

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/setting"
	"github.com/sigil-dev/sigil/trust"
)

// Option configures a Signer.
type Option func(*options)

// CertificateSource gives the run's code-signing certificate for the
// Signer's key pair. The default asks Fulcio (see WithServices).
type CertificateSource interface {
	// Chain returns the certificate chain, leaf first, valid now. It is
	// called before every signature, concurrently, and may cache.
	Chain(ctx context.Context) ([]*x509.Certificate, error)
}

// Log is a transparency log a Signer records signatures in.
type Log struct {
	// Transparency adds the log entry to a bundle.
	sgsign.Transparency
	// URL is the log's base URL, reported in each LogEntry.
	URL string
	// Version is its Rekor API major version, 1 or 2.
	Version int
}

type options struct {
	services    trust.Services
	trustedRoot root.TrustedMaterial
	token       func(ctx context.Context) (string, error)
	transport   http.RoundTripper
	remote      []remote.Option
	pushes      *registry.Pushes
	auth        registry.Auth
	format      artifact.Format
	recursive   bool
	annotations map[string]string
	concurrency int
	now         func() time.Time
	progress    func(string)

	keypair sgsign.Keypair
	certs   CertificateSource
	log     *Log
	legacy  *Log
	tsas    []*sgsign.TimestampAuthority
	tsaSet  bool

	existing Finder

	predicates []Predicate
	provenance bool
	serverURL  string
}

// WithServices sets the Fulcio, Rekor and TSA endpoints. Required, unless
// WithCertificates, WithTransparencyLog (and, for the legacy format,
// WithLegacyLog) replace every service it names.
func WithServices(s trust.Services) Option { return func(o *options) { o.services = s } }

// WithTrustedRoot sets the trust material every new signature is checked
// against before it is pushed. Required.
func WithTrustedRoot(tr root.TrustedMaterial) Option {
	return func(o *options) { o.trustedRoot = tr }
}

// WithIdentityToken sets the source of OIDC identity tokens that Fulcio
// turns into certificates. It is called once per certificate: once per
// run, unless the run outlives the certificate. Required with the default
// certificate source.
func WithIdentityToken(f func(ctx context.Context) (string, error)) Option {
	return func(o *options) { o.token = f }
}

// WithTransport sets the HTTP transport for Fulcio, the logs and the TSA.
// The default is http.DefaultTransport.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithRegistry sets the go-containerregistry options (credentials,
// transport) for every registry call, and the credentials' sources for
// error messages. The default is anonymous access.
func WithRegistry(auth registry.Auth, opts ...remote.Option) Option {
	return func(o *options) { o.auth, o.remote = auth, opts }
}

// WithPushes sets the per-repository push transports signatures and
// attestations are written through (reads go through WithRegistry's
// options): the same credentials and transport as
// WithRegistry's options (see registry.NewPushes). The default is made from
// WithRegistry's credentials over remote.DefaultTransport.
func WithPushes(p *registry.Pushes) Option { return func(o *options) { o.pushes = p } }

// WithFormat sets the image signature formats: artifact.FormatBoth,
// FormatBundle or FormatLegacy. The default is FormatBoth.
func WithFormat(f artifact.Format) Option { return func(o *options) { o.format = f } }

// WithRecursive signs each platform manifest of an index as well as the
// index. The default is true.
func WithRecursive(r bool) Option { return func(o *options) { o.recursive = r } }

// WithAnnotations adds key=value annotations to the legacy signature payload
// (its "optional" section, as cosign -a does). The default is none.
func WithAnnotations(a map[string]string) Option { return func(o *options) { o.annotations = a } }

// WithConcurrency bounds how many artifacts are signed (their log entries
// made) at once, and how many are pushed at once beside them, 1 to
// setting.MaxConcurrency. The default is setting.DefaultConcurrency.
// What comes before signing, a read or two per reference (resolving it,
// looking up what is signed already), runs at readsPerSign times that.
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

// WithClock sets the clock used to decide certificate renewal. The default is
// time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithProgress receives one line per finished step, one call at a time
// (f need not be safe for concurrent use). The default discards.
func WithProgress(f func(string)) Option { return func(o *options) { o.progress = f } }

// WithKeypair sets the key pair every signature is made with. The default
// is a new ephemeral ECDSA P-256 key pair per Signer.
func WithKeypair(k sgsign.Keypair) Option { return func(o *options) { o.keypair = k } }

// WithCertificates sets where the certificate for the key pair comes from.
// The default is Fulcio at the services' URL, with the identity token.
func WithCertificates(c CertificateSource) Option { return func(o *options) { o.certs = c } }

// WithTransparencyLog sets the log that bundles are recorded in. The
// default is the services' Rekor (v1 or v2).
func WithTransparencyLog(l Log) Option { return func(o *options) { o.log = &l } }

// WithLegacyLog sets the Rekor v1 log that legacy signatures are recorded
// in (their format carries its signed entry timestamp). The default is the
// services' Rekor v1 log.
func WithLegacyLog(l Log) Option { return func(o *options) { o.legacy = &l } }

// WithTimestampAuthorities sets the RFC 3161 timestamp authorities that
// countersign bundles. The default is the services' TSAs.
func WithTimestampAuthorities(t ...*sgsign.TimestampAuthority) Option {
	return func(o *options) { o.tsas, o.tsaSet = t, true }
}

// CheckOptions checks the rules among opts that need no service or trust
// material (formats, annotations, concurrency), as New will: a caller can
// refuse bad settings before it contacts anything to find its services.
func CheckOptions(opts ...Option) error {
	_, err := makeOptions(opts, false)
	return err
}

// makeOptions applies opts over the defaults and checks them; every rule on
// the settings is checked here, once. Without complete, the services and
// trust material are not required yet.
func makeOptions(opts []Option, complete bool) (*options, error) {
	o := &options{format: artifact.FormatBoth, recursive: true, concurrency: setting.DefaultConcurrency, now: time.Now, progress: func(string) {}}
	for _, opt := range opts {
		opt(o)
	}
	var errs []error
	if _, err := artifact.ParseFormat(string(o.format), "", artifact.FormatBoth, artifact.FormatBundle, artifact.FormatLegacy); err != nil {
		errs = append(errs, &setting.Error{Setting: setting.Format, Err: err})
	}
	if complete && o.trustedRoot == nil {
		errs = append(errs, setting.Errorf(setting.TrustedRoot, "no trusted root to check new signatures against"))
	}
	if complete && o.certs == nil {
		switch {
		case o.services.FulcioURL == "":
			errs = append(errs, setting.Errorf(setting.FulcioURL, "no Fulcio URL"))
		case o.token == nil:
			errs = append(errs, errors.New("no identity token source for Fulcio"))
		}
	}
	if err := setting.CheckConcurrency(o.concurrency); err != nil {
		errs = append(errs, err)
	}
	if complete && o.log == nil && o.services.RekorURL == "" {
		errs = append(errs, setting.Errorf(setting.RekorURL, "no Rekor URL: every signature is recorded in a transparency log"))
	}
	if complete && o.log == nil && o.services.RekorVersion == 2 && len(o.services.TSAURLs) == 0 {
		errs = append(errs, setting.Errorf(setting.TSAURL, "Rekor v2 gives no signing time, so it needs a timestamp authority: give its URL, or a signing config that lists one"))
	}
	if complete && o.format.Includes(artifact.FormatLegacy) && o.legacy == nil && o.services.LegacyRekorURL == "" {
		errs = append(errs, (&setting.Error{Setting: setting.Format, Err: fmt.Errorf(
			"the legacy .sig format carries a Rekor v1 signed entry timestamp, and the signing config names no Rekor v1 log (only %s, API v%d); a signing config with a Rekor v1 log fixes it too",
			o.services.RekorURL, o.services.RekorVersion)}).WithFix(setting.Assign{Setting: setting.Format, Value: string(artifact.FormatBundle)}))
	}
	if len(o.annotations) > 0 && !o.format.Includes(artifact.FormatLegacy) {
		errs = append(errs, (&setting.Error{Setting: setting.Annotations, Err: errors.New("annotations are signed into the legacy payload, which the bundle format does not write")}).
			WithFix(setting.Assign{Setting: setting.Format, Value: string(artifact.FormatBoth)}, setting.Assign{Setting: setting.Format, Value: string(artifact.FormatLegacy)}))
	}
	return o, errors.Join(errs...)
}
