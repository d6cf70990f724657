package sign

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/internal/httpretry"
	"github.com/sigil-dev/sigil/registry"
)

// Signer signs artifacts under one key pair and one certificate.
type Signer struct {
	o       *options
	keypair sgsign.Keypair
	certs   CertificateSource
	tlog    Log
	legacy  *Log
	tsas    []*sgsign.TimestampAuthority

	// tokens is the identity token source, remembering the token the
	// certificate was requested with (the provenance is built from it).
	tokens *tokenMemo
	// provOnce builds provJSON, the run's provenance predicate.
	provOnce sync.Once
	provJSON []byte
	provErr  error

	// progressMu makes the progress lines of concurrent signatures one at
	// a time.
	progressMu sync.Mutex

	// sctMu guards sctOK, the leaf whose SCT was last checked.
	sctMu sync.Mutex
	sctOK []byte
}

// New returns a Signer. Nothing is requested from any service until the
// first signature: a token is fetched and a certificate issued then.
func New(opts ...Option) (*Signer, error) {
	o, err := makeOptions(opts, true)
	if err != nil {
		return nil, err
	}
	s := &Signer{o: o, keypair: o.keypair, certs: o.certs, legacy: o.legacy, tsas: o.tsas, tokens: &tokenMemo{src: o.token}}
	if s.keypair == nil {
		if s.keypair, err = newKeypair(); err != nil {
			return nil, fmt.Errorf("generating the run's key pair: %w", err)
		}
	}
	if o.pushes == nil {
		kc, err := o.auth.Keychain()
		if err != nil {
			return nil, err
		}
		o.pushes = registry.NewPushes(kc, nil, "")
	}
	if s.certs == nil {
		client := &http.Client{Transport: httpretry.Service{Name: "Fulcio", Base: o.transport}}
		s.certs = &fulcio{url: o.services.FulcioURL, client: client, token: s.tokens.get, now: o.now, keypair: s.keypair}
	}
	if o.log != nil {
		s.tlog = *o.log
	} else if s.tlog, err = newLog(o.services.RekorURL, int(o.services.RekorVersion), o.transport); err != nil {
		return nil, err
	}
	if s.legacy == nil && o.services.LegacyRekorURL != "" {
		l, err := newLog(o.services.LegacyRekorURL, 1, o.transport)
		if err != nil {
			return nil, err
		}
		s.legacy = &l
	}
	if !o.tsaSet {
		for _, u := range o.services.TSAURLs {
			// No retries of its own: the transport retries. (Its own
			// retries end by reading a body they closed, and the Service
			// transport turns a lasting 5xx into an error before.)
			tsa := httpretry.Service{Name: "timestamp authority", Base: o.transport, Accept: []string{"application/timestamp-reply"}}
			s.tsas = append(s.tsas, sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: u, Transport: tsa, Timeout: -1}))
		}
	}
	return s, nil
}

// CertificateRequests reports how many certificates were requested from
// Fulcio so far: 1 for a run that did not outlive its certificate, 0 with
// a certificate source other than Fulcio.
func (s *Signer) CertificateRequests() int {
	if f, ok := s.certs.(*fulcio); ok {
		return f.count()
	}
	return 0
}

// Identity obtains the run's certificate (fetching a token and asking Fulcio
// on first use) and returns the identity it certifies. Calling it before
// signing surfaces token and Fulcio errors before anything is written.
func (s *Signer) Identity(ctx context.Context) (artifact.Identity, error) {
	chain, err := s.certs.Chain(ctx)
	if err != nil {
		return artifact.Identity{}, err
	}
	sum, err := certificate.SummarizeCertificate(chain[0])
	if err != nil {
		return artifact.Identity{}, fmt.Errorf("reading the signing certificate: %w", err)
	}
	return artifact.Identity{
		Subject: sum.SubjectAlternativeName, Issuer: sum.Issuer,
		SourceRepositoryURI: sum.SourceRepositoryURI, SourceRepositoryRef: sum.SourceRepositoryRef,
		RunnerEnvironment: sum.RunnerEnvironment,
	}, nil
}

// signed is one new signature and its log entry.
type signed struct {
	bundle *protobundle.Bundle
	json   []byte
	chain  []*x509.Certificate // leaf first
	entry  artifact.LogEntry
}

// chainProvider serves sigstore-go the leaf of the chain the signature is
// made under, so that the certificate in the bundle is the one whose chain
// sigil keeps (the legacy format carries the chain too).
type chainProvider struct{ chain []*x509.Certificate }

func (c chainProvider) GetCertificate(context.Context, sgsign.Keypair, *sgsign.CertificateProviderOptions) ([]byte, error) {
	return c.chain[0].Raw, nil
}

// sign makes one bundle: content signed with the run's key, the run's
// certificate, a TSA timestamp where configured, and the log entry. The
// bundle is verified against the trusted root before it is returned.
func (s *Signer) sign(ctx context.Context, content sgsign.Content, tlog Log, tsas []*sgsign.TimestampAuthority) (*signed, error) {
	return s.signWith(ctx, content, s.keypair, nil, tlog, tsas)
}

// signDigest signs a file by its SHA-256 digest, streamed elsewhere: the
// message signature of the file, its bundle as sign's.
func (s *Signer) signDigest(ctx context.Context, kp DigestSigner, digest []byte, tlog Log, tsas []*sgsign.TimestampAuthority) (*signed, error) {
	return s.signWith(ctx, &sgsign.PlainData{Data: digest}, prehashed{kp}, digest, tlog, tsas)
}

// signWith signs content with kp. digest, when set, is the SHA-256 of the
// artifact kp signs prehashed: sigstore-go's own check of the new bundle
// would hash the content again, so the bundle is checked here against the
// digest instead.
func (s *Signer) signWith(ctx context.Context, content sgsign.Content, kp sgsign.Keypair, digest []byte, tlog Log, tsas []*sgsign.TimestampAuthority) (*signed, error) {
	chain, err := s.certs.Chain(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkSCT(chain); err != nil {
		return nil, err
	}
	opts := sgsign.BundleOptions{
		CertificateProvider:        chainProvider{chain},
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{},
		TimestampAuthorities:       tsas,
		TransparencyLogs:           []sgsign.Transparency{tlog.Transparency},
		Context:                    ctx,
		TrustedRoot:                s.o.trustedRoot,
	}
	if digest != nil {
		opts.TrustedRoot = nil
	}
	b, err := sgsign.Bundle(content, kp, opts)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", httpretry.Cause(err))
	}
	if digest != nil {
		if err := s.checkDigestBundle(b, digest, len(tsas)); err != nil {
			return nil, err
		}
	}
	out, err := (&bundle.Bundle{Bundle: b}).MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding the bundle: %w", err)
	}
	entries := b.GetVerificationMaterial().GetTlogEntries()
	if len(entries) == 0 {
		return nil, fmt.Errorf("Rekor at %s returned no log entry", tlog.URL)
	}
	return &signed{bundle: b, json: out, chain: chain, entry: logEntry(tlog, b)}, nil
}

// checkDigestBundle verifies a new bundle of a prehashed file against the
// trusted root, as sigstore-go's Bundle verifies the others: one log
// entry, the TSA's timestamps or else the log's time, the file's digest.
func (s *Signer) checkDigestBundle(b *protobundle.Bundle, digest []byte, tsas int) error {
	opts := []sgverify.VerifierOption{sgverify.WithTransparencyLog(1)}
	if tsas > 0 {
		opts = append(opts, sgverify.WithSignedTimestamps(tsas))
	} else {
		opts = append(opts, sgverify.WithIntegratedTimestamps(1))
	}
	v, err := sgverify.NewVerifier(s.o.trustedRoot, opts...)
	if err != nil {
		return err
	}
	vb, err := bundle.NewBundle(b)
	if err != nil {
		return err
	}
	pol := sgverify.NewPolicy(sgverify.WithArtifactDigest("sha256", digest), sgverify.WithoutIdentitiesUnsafe())
	if _, err := v.Verify(vb, pol); err != nil {
		return fmt.Errorf("the new signature does not verify against the trusted root: %w", err)
	}
	return nil
}

// checkSCT checks, when the trusted root lists certificate transparency
// logs, that the certificate carries a valid signed certificate timestamp
// from one of them, as verifiers will require: sigstore-go's sign.Bundle
// checks the new bundle against the trusted root but not the SCT, and a
// signature pushed without one would be refused by every verifier. Each
// certificate is checked once.
func (s *Signer) checkSCT(chain []*x509.Certificate) error {
	if len(s.o.trustedRoot.CTLogs()) == 0 {
		return nil
	}
	s.sctMu.Lock()
	defer s.sctMu.Unlock()
	if bytes.Equal(s.sctOK, chain[0].Raw) {
		return nil
	}
	chains, err := sgverify.VerifyLeafCertificate(s.o.now(), chain[0], s.o.trustedRoot)
	if err != nil {
		return fmt.Errorf("the signing certificate does not chain to the trusted root's Fulcio: %w", err)
	}
	if err := sgverify.VerifySignedCertificateTimestamp(chains, 1, s.o.trustedRoot); err != nil {
		return fmt.Errorf("the signing certificate carries no certificate transparency timestamp that the trusted root's CT logs vouch for (%v): verifiers would refuse its signatures; check that Fulcio and the trusted root belong to one Sigstore instance", err)
	}
	s.sctOK = chain[0].Raw
	return nil
}

// logEntry describes the first log entry of b, made by l.
func logEntry(l Log, b *protobundle.Bundle) artifact.LogEntry {
	e := b.GetVerificationMaterial().GetTlogEntries()[0]
	le := artifact.LogEntry{URL: l.URL, Version: l.Version, Index: e.GetLogIndex(), LogID: hex.EncodeToString(e.GetLogId().GetKeyId())}
	if t := e.GetIntegratedTime(); t != 0 {
		it := time.Unix(t, 0).UTC()
		le.IntegratedTime = &it
	}
	if l.Version == 1 {
		le.EntryURL = strings.TrimSuffix(l.URL, "/") + fmt.Sprintf("/api/v1/log/entries?logIndex=%d", e.GetLogIndex())
	}
	return le
}

// progress reports a line through WithProgress, one call at a time.
func (s *Signer) progress(line string) {
	s.progressMu.Lock()
	defer s.progressMu.Unlock()
	s.o.progress(line)
}

// tokenMemo is an identity token source that remembers the last token it
// gave.
type tokenMemo struct {
	src func(ctx context.Context) (string, error)
	mu  sync.Mutex
	tok string
}

func (m *tokenMemo) get(ctx context.Context) (string, error) {
	if m.src == nil {
		return "", errors.New("no identity token source")
	}
	t, err := m.src(ctx)
	if err == nil {
		m.mu.Lock()
		m.tok = t
		m.mu.Unlock()
	}
	return t, err
}

// last is the last token given, or a new one if none was.
func (m *tokenMemo) last(ctx context.Context) (string, error) {
	m.mu.Lock()
	t := m.tok
	m.mu.Unlock()
	if t != "" {
		return t, nil
	}
	return m.get(ctx)
}

// onceMap runs f once per key and shares its result. Keys are grouped
// (by digest): forget lets go of a group's results once nothing will ask
// for them again.
type onceMap[T any] struct {
	mu sync.Mutex
	m  map[string]map[string]*onceValue[T]
}

type onceValue[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (m *onceMap[T]) do(group, key string, f func() (T, error)) (T, error) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]map[string]*onceValue[T]{}
	}
	g := m.m[group]
	if g == nil {
		g = map[string]*onceValue[T]{}
		m.m[group] = g
	}
	ov, ok := g[key]
	if !ok {
		ov = &onceValue[T]{}
		g[key] = ov
	}
	m.mu.Unlock()
	ov.once.Do(func() { ov.v, ov.err = f() })
	return ov.v, ov.err
}

// forget drops group's results: a later do of one of its keys runs f
// again.
func (m *onceMap[T]) forget(group string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, group)
}

// len is how many groups are held.
func (m *onceMap[T]) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}
