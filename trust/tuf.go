package trust

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/sigstore/sigstore-go/pkg/util"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"

	"github.com/sigil-dev/sigil/setting"
)

// PublicTUFMirror is the public Sigstore instance's TUF repository, the
// one sigstore/root-signing publishes.
const PublicTUFMirror = tuf.DefaultMirror

// The targets sigil reads from a TUF repository, named as the public
// repository (sigstore/root-signing, targets/) names them.
const (
	// TrustedRootTarget is the trusted root: the keys and certificates of
	// Fulcio, the Rekor logs, the CT logs and the timestamp authorities.
	TrustedRootTarget = "trusted_root.json"
	// SigningConfigTarget is the signing config every Sigstore client
	// reads by default (cosign v3's sign, sigstore-go's
	// root.FetchSigningConfig): Fulcio, Rekor v1 and the timestamp
	// authority on the public instance.
	SigningConfigTarget = "signing_config.v0.2.json"
	// SigningConfigRekorV2Target is the opt-in signing config that adds the
	// Rekor v2 logs (sigstore/root-signing#1642; cosign v3's
	// `signing-config create --with-default-rekor-v2` reads it). Sigstore
	// asks signers who want Rekor v2 to read this target rather than
	// hard-code a log URL, so that new log shards reach them.
	SigningConfigRekorV2Target = "signing_config_rekor_v2.v0.2.json"
)

// TUFOptions choose the TUF repository that distributes the trusted root
// and the signing config.
type TUFOptions struct {
	// MirrorURL is the repository's base URL. The default is
	// PublicTUFMirror, https://tuf-repo-cdn.sigstore.dev.
	MirrorURL string
	// InitialRoot is a root.json of the repository, trusted on first use:
	// newer roots are fetched from the mirror and must chain to it. The
	// default, for the public mirror only, is the public instance's root
	// embedded in sigstore-go; any other mirror needs its own.
	InitialRoot []byte
	// CacheDir keeps the verified metadata and targets between runs, one
	// subdirectory per mirror; it is created (mode 0700) if missing.
	// Required. The metadata is refreshed from the mirror at every
	// OpenTUF, as the TUF specification requires: the cache saves
	// downloads and, kept between runs, lets the client refuse a mirror
	// that rolls metadata back to an older version. It gives no offline
	// mode. A container action should use a directory of the container's
	// own file system (under os.TempDir()), which goes away with the
	// container: the directories GitHub mounts (/github/workspace, and
	// /github/home, which is the runner's _temp/_github_home) belong to
	// the runner's user on a self-hosted runner, and root-owned files left
	// there break its next checkout and its cleanup of _temp
	// (actions/runner#434, #529).
	CacheDir string
	// Transport does the requests. The default is http.DefaultTransport.
	Transport http.RoundTripper
}

// TUF is a TUF repository whose metadata has been refreshed and verified:
// its targets can be read.
type TUF struct {
	client *tuf.Client
	mirror string
}

// OpenTUF refreshes the repository's metadata from the mirror (root chain,
// timestamp, snapshot, targets) and verifies it against the initial root.
// Its errors name the mirror and say what to do: expired metadata, metadata
// not signed by the keys of the trusted root, a mirror rolling back, a
// mirror that cannot be reached.
func OpenTUF(ctx context.Context, o TUFOptions) (*TUF, error) {
	mirror := strings.TrimSuffix(o.MirrorURL, "/")
	if mirror == "" {
		mirror = PublicTUFMirror
	}
	if err := checkURL(mirror); err != nil {
		return nil, &setting.Error{Setting: setting.TUFMirror, Err: err}
	}
	initial := o.InitialRoot
	if len(initial) == 0 {
		if mirror != PublicTUFMirror {
			return nil, setting.Errorf(setting.TUFRoot, "the TUF mirror %s is not the public instance's, so its root is not the public one: give the repository's initial root.json", mirror)
		}
		initial = tuf.DefaultRoot()
	}
	if o.CacheDir == "" {
		return nil, errors.New("trust: OpenTUF needs a cache directory")
	}
	cacheDir, err := filepath.Abs(o.CacheDir)
	if err != nil {
		return nil, err
	}
	transport := o.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	f := fetcher.NewDefaultFetcher()
	f.SetHTTPUserAgent(util.ConstructUserAgent())
	f.SetHTTPClient(ctxClient{ctx: ctx, client: &http.Client{Transport: transport}})

	opts := tuf.DefaultOptions().
		WithRepositoryBaseURL(mirror).
		WithRoot(initial).
		WithCachePath(cacheDir).
		WithCacheValidity(tuf.NoCache).
		WithFetcher(f).
		WithContext(ctx)
	c, err := tuf.New(opts)
	if err != nil {
		return nil, tufError(mirror, "refreshing the TUF metadata", err)
	}
	return &TUF{client: c, mirror: mirror}, nil
}

// Mirror is the repository's base URL.
func (t *TUF) Mirror() string { return t.mirror }

// TrustedRoot reads TrustedRootTarget.
func (t *TUF) TrustedRoot() (*root.TrustedRoot, error) {
	b, err := t.target(TrustedRootTarget)
	if err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s from the TUF mirror %s is not a Sigstore trusted root: %w", TrustedRootTarget, t.mirror, err)
	}
	return tr, nil
}

// SigningConfig reads SigningConfigTarget, the signing config with Rekor
// v1, or with rekorV2 SigningConfigRekorV2Target, the opt-in one that adds
// Rekor v2. Pass the result to SelectServices through
// ServiceOptions.SigningConfig.
func (t *TUF) SigningConfig(rekorV2 bool) (*root.SigningConfig, error) {
	name := SigningConfigTarget
	if rekorV2 {
		name = SigningConfigRekorV2Target
	}
	b, err := t.target(name)
	if err != nil {
		return nil, err
	}
	sc, err := root.NewSigningConfigFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s from the TUF mirror %s is not a Sigstore signing config: %w", name, t.mirror, err)
	}
	return sc, nil
}

func (t *TUF) target(name string) ([]byte, error) {
	b, err := t.client.GetTarget(name)
	if err != nil && strings.Contains(err.Error(), "target "+name+" not found") {
		// go-tuf reports a target that the targets metadata does not
		// list with an untyped error.
		return nil, fmt.Errorf("the TUF repository at %s does not distribute %s (%w): give the file instead (%s, %s)", t.mirror, name, err, setting.TrustedRoot, setting.SigningConfig)
	}
	if err != nil {
		return nil, tufError(t.mirror, "reading the target "+name, err)
	}
	return b, nil
}

// tufError turns a TUF client error into one that names the mirror and says
// what to do.
func tufError(mirror, doing string, err error) error {
	var (
		httpErr *metadata.ErrDownloadHTTP
		netErr  net.Error
	)
	switch {
	case errors.Is(err, &metadata.ErrExpiredMetadata{}):
		return fmt.Errorf("%s from %s: the mirror serves expired metadata (%w); a mirror whose metadata is not re-signed in time must not be trusted: try again later, and if it persists, report it to the mirror's operators (for the public instance: github.com/sigstore/root-signing)", doing, mirror, err)
	case errors.Is(err, &metadata.ErrUnsignedMetadata{}):
		return &setting.Error{Setting: setting.TUFRoot, Err: fmt.Errorf("%s from %s: metadata is not signed by the keys the trusted TUF root names (%w); either this is not the mirror's root, or the mirror serves tampered metadata: do not use it", doing, mirror, err)}
	case errors.Is(err, &metadata.ErrBadVersionNumber{}):
		return fmt.Errorf("%s from %s: the mirror serves metadata older than what this client verified before (%w), which a rollback attack looks like; if the repository was rebuilt from scratch on purpose, delete the TUF cache", doing, mirror, err)
	case errors.Is(err, &metadata.ErrLengthOrHashMismatch{}):
		return fmt.Errorf("%s from %s: a file does not match the length or hash its signed metadata gives (%w); the mirror serves a tampered or half-updated file: try again later", doing, mirror, err)
	case errors.As(err, &httpErr):
		return setting.Errorf(setting.TUFMirror, "%s from %s: GET %s answered HTTP %d; give the base URL of a TUF repository (the directory holding timestamp.json)", doing, mirror, httpErr.URL, httpErr.StatusCode)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s from %s: %w", doing, mirror, err)
	case errors.As(err, &netErr), errors.Is(err, &metadata.ErrDownload{}):
		return &setting.Error{Setting: setting.TUFMirror, Err: fmt.Errorf("%s from %s: the mirror cannot be reached (%w); without network access to it, give the trust material as files instead (%s and %s)", doing, mirror, err, setting.TrustedRoot, setting.SigningConfig)}
	}
	return fmt.Errorf("%s from %s: %w", doing, mirror, err)
}

// ctxClient gives the TUF fetcher's requests a context: go-tuf's default
// fetcher makes them without one.
type ctxClient struct {
	ctx    context.Context
	client *http.Client
}

func (c ctxClient) Do(req *http.Request) (*http.Response, error) {
	return c.client.Do(req.WithContext(c.ctx))
}
