package sign

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/registry"
	"github.com/sigil-dev/sigil/trust"
)

// Format says which signature formats are written for an image.
type Format string

// The formats.
const (
	// FormatBoth writes the Sigstore bundle referrer and the legacy .sig tag.
	FormatBoth Format = "both"
	// FormatBundle writes only the Sigstore bundle as an OCI 1.1 referrer.
	FormatBundle Format = "bundle"
	// FormatLegacy writes only cosign's sha256-<digest>.sig tag.
	FormatLegacy Format = "legacy"
)

// ParseFormat reads a format input; empty means FormatBoth.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "":
		return FormatBoth, nil
	case FormatBoth, FormatBundle, FormatLegacy:
		return Format(s), nil
	}
	return "", fmt.Errorf("format %q: want both, bundle or legacy", s)
}

func (f Format) bundle() bool { return f == FormatBoth || f == FormatBundle }
func (f Format) legacy() bool { return f == FormatBoth || f == FormatLegacy }

// Option configures a Signer.
type Option func(*options)

type options struct {
	services    trust.Services
	trustedRoot root.TrustedMaterial
	token       func(ctx context.Context) (string, error)
	transport   http.RoundTripper
	remote      []remote.Option
	auth        registry.Auth
	format      Format
	recursive   bool
	annotations map[string]string
	concurrency int
	now         func() time.Time
	progress    func(string)
}

// WithServices sets the Fulcio, Rekor and TSA endpoints. Required.
func WithServices(s trust.Services) Option { return func(o *options) { o.services = s } }

// WithTrustedRoot sets the trust material every new signature is checked
// against before it is pushed. Required.
func WithTrustedRoot(tr root.TrustedMaterial) Option {
	return func(o *options) { o.trustedRoot = tr }
}

// WithIdentityToken sets the source of OIDC identity tokens. It is called
// once per certificate: once per run, unless the run outlives the
// certificate. Required.
func WithIdentityToken(f func(ctx context.Context) (string, error)) Option {
	return func(o *options) { o.token = f }
}

// WithTransport sets the HTTP transport for Fulcio and the TSA. The default
// is http.DefaultTransport.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithRegistry sets the go-containerregistry options (credentials, transport)
// for every registry call, and the credentials' sources for error messages.
func WithRegistry(auth registry.Auth, opts ...remote.Option) Option {
	return func(o *options) { o.auth, o.remote = auth, opts }
}

// WithFormat sets the image signature formats. The default is FormatBoth.
func WithFormat(f Format) Option { return func(o *options) { o.format = f } }

// WithRecursive signs each platform manifest of an index as well as the
// index. The default is true.
func WithRecursive(r bool) Option { return func(o *options) { o.recursive = r } }

// WithAnnotations adds key=value annotations to the legacy signature payload
// (its "optional" section, as cosign -a does). The default is none.
func WithAnnotations(a map[string]string) Option { return func(o *options) { o.annotations = a } }

// WithConcurrency bounds how many artifacts are signed and pushed at once.
// The default is 16.
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

// WithClock sets the clock used to decide certificate renewal. The default is
// time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithProgress receives one line per finished step. The default discards.
func WithProgress(f func(string)) Option { return func(o *options) { o.progress = f } }

func makeOptions(opts []Option) (*options, error) {
	o := &options{format: FormatBoth, recursive: true, concurrency: 16, now: time.Now, progress: func(string) {}}
	for _, opt := range opts {
		opt(o)
	}
	var errs []error
	if o.services.FulcioURL == "" {
		errs = append(errs, errors.New("no Fulcio URL"))
	}
	if o.trustedRoot == nil {
		errs = append(errs, errors.New("no trusted root"))
	}
	if o.token == nil {
		errs = append(errs, errors.New("no identity token source"))
	}
	if o.concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d: want 1 or more", o.concurrency))
	}
	if o.services.RekorURL == "" {
		errs = append(errs, errors.New("no Rekor URL: every signature is recorded in a transparency log"))
	}
	if o.services.RekorVersion == 2 && len(o.services.TSAURLs) == 0 {
		errs = append(errs, errors.New("Rekor v2 needs a timestamp authority (tsa-url or a signing config that lists one)"))
	}
	if o.format.legacy() && o.services.LegacyRekorURL == "" {
		errs = append(errs, fmt.Errorf("format %s: the legacy .sig format carries a Rekor v1 signed entry timestamp, and the signing config names no Rekor v1 log (only %s, API v%d): use format: bundle, or a signing config with a Rekor v1 log", o.format, o.services.RekorURL, o.services.RekorVersion))
	}
	if len(o.annotations) > 0 && !o.format.legacy() {
		errs = append(errs, errors.New("annotations are signed into the legacy payload, and format bundle writes none: use format both or legacy, or drop annotations"))
	}
	return o, errors.Join(errs...)
}
