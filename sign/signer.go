package sign

import (
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
	tilesclient "github.com/sigstore/rekor-tiles/v2/pkg/client"
	"github.com/sigstore/rekor-tiles/v2/pkg/client/write"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
)

// Signer signs artifacts under one key pair and one certificate.
type Signer struct {
	o       *options
	keypair *sgsign.EphemeralKeypair
	fulcio  *fulcio
	tlog    sgsign.Transparency
	legacy  sgsign.Transparency
	tsas    []*sgsign.TimestampAuthority
}

// New returns a Signer. Nothing is requested from any service until the
// first signature: a token is fetched and a certificate issued then.
func New(opts ...Option) (*Signer, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("generating the run's key pair: %w", err)
	}
	client := &http.Client{Transport: o.transport}
	s := &Signer{
		o:       o,
		keypair: kp,
		fulcio:  &fulcio{url: o.services.FulcioURL, client: client, token: o.token, now: o.now, keypair: kp},
	}
	if s.tlog, err = newLog(o.services.RekorURL, o.services.RekorVersion); err != nil {
		return nil, err
	}
	if o.services.LegacyRekorURL != "" {
		if s.legacy, err = newLog(o.services.LegacyRekorURL, 1); err != nil {
			return nil, err
		}
	}
	for _, u := range o.services.TSAURLs {
		s.tsas = append(s.tsas, sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: u, Transport: o.transport, Retries: 2}))
	}
	return s, nil
}

// CertificateRequests reports how many certificates were requested from
// Fulcio so far: 1 for a run that did not outlive its certificate.
func (s *Signer) CertificateRequests() int {
	s.fulcio.mu.Lock()
	defer s.fulcio.mu.Unlock()
	return s.fulcio.requests
}

// Identity obtains the run's certificate (fetching a token and asking Fulcio
// on first use) and returns the identity it certifies. Calling it before
// signing surfaces token and Fulcio errors before anything is written.
func (s *Signer) Identity(ctx context.Context) (Identity, error) {
	chain, err := s.fulcio.current(ctx)
	if err != nil {
		return Identity{}, err
	}
	sum, err := certificate.SummarizeCertificate(chain[0])
	if err != nil {
		return Identity{}, fmt.Errorf("reading the signing certificate: %w", err)
	}
	return Identity{Subject: sum.SubjectAlternativeName, Issuer: sum.Issuer}, nil
}

// signed is one new signature and its log entry.
type signed struct {
	bundle *protobundle.Bundle
	json   []byte
	leaf   *x509.Certificate
	chain  []*x509.Certificate // leaf first
	entry  LogEntry
}

// sign makes one bundle: content signed with the run's key, the run's
// certificate, a TSA timestamp where configured, and the log entry. The
// bundle is verified against the trusted root before it is returned.
func (s *Signer) sign(ctx context.Context, content sgsign.Content, tlog sgsign.Transparency, logURL string, logVersion uint32, tsas []*sgsign.TimestampAuthority) (*signed, error) {
	chain, err := s.fulcio.current(ctx)
	if err != nil {
		return nil, err
	}
	b, err := sgsign.Bundle(content, s.keypair, sgsign.BundleOptions{
		CertificateProvider:        s.fulcio,
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{},
		TimestampAuthorities:       tsas,
		TransparencyLogs:           []sgsign.Transparency{tlog},
		Context:                    ctx,
		TrustedRoot:                s.o.trustedRoot,
	})
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	leafDER := b.GetVerificationMaterial().GetCertificate().GetRawBytes()
	if string(leafDER) != string(chain[0].Raw) {
		// The certificate was renewed between the two calls; take the new one.
		if chain, err = s.fulcio.current(ctx); err != nil {
			return nil, err
		}
		if string(leafDER) != string(chain[0].Raw) {
			return nil, errors.New("the signing certificate changed while signing; retry the run")
		}
	}
	out, err := (&bundle.Bundle{Bundle: b}).MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding the bundle: %w", err)
	}
	entries := b.GetVerificationMaterial().GetTlogEntries()
	if len(entries) == 0 {
		return nil, fmt.Errorf("Rekor at %s returned no log entry", logURL)
	}
	e := entries[0]
	le := LogEntry{URL: logURL, Version: logVersion, Index: e.GetLogIndex(), IntegratedTime: e.GetIntegratedTime()}
	if logVersion == 1 {
		le.EntryURL = strings.TrimSuffix(logURL, "/") + fmt.Sprintf("/api/v1/log/entries?logIndex=%d", e.GetLogIndex())
	}
	return &signed{bundle: b, json: out, leaf: chain[0], chain: chain, entry: le}, nil
}

// logTimeout bounds one log request; Rekor v1 answers once the entry is
// integrated.
const logTimeout = 60 * time.Second

// newLog returns the client of one transparency log. The clients are made
// here, not left to sigstore-go: its Rekor creates them lazily on first use,
// without a lock, which races when signatures are made concurrently.
func newLog(url string, version uint32) (sgsign.Transparency, error) {
	opts := &sgsign.RekorOptions{BaseURL: url, Version: version, Retries: 3, Timeout: logTimeout}
	switch version {
	case 1:
		c, err := rekorclient.GetRekorClient(url, rekorclient.WithUserAgent(userAgent), rekorclient.WithRetryCount(3), rekorclient.WithNoDisableKeepalives(true))
		if err != nil {
			return nil, fmt.Errorf("rekor-url %q: %w", url, err)
		}
		opts.Client = c.Entries
	case 2:
		c, err := write.NewWriter(url, tilesclient.WithUserAgent(userAgent), tilesclient.WithTimeout(logTimeout))
		if err != nil {
			return nil, fmt.Errorf("Rekor v2 %q: %w", url, err)
		}
		opts.ClientV2 = c
	default:
		return nil, fmt.Errorf("Rekor API version %d: sigil speaks 1 and 2", version)
	}
	return namedLog{sgsign.NewRekor(opts), url, version}, nil
}

// userAgent names sigil to the services.
const userAgent = "sigil"

// namedLog tags a log's errors with the log's name and URL: sigstore-go
// returns the services' errors as they come, and the user needs to know
// which service refused.
type namedLog struct {
	sgsign.Transparency
	url string
	v   uint32
}

func (l namedLog) GetTransparencyLogEntry(ctx context.Context, keyOrCertPEM []byte, b *protobundle.Bundle) error {
	if err := l.Transparency.GetTransparencyLogEntry(ctx, keyOrCertPEM, b); err != nil {
		return fmt.Errorf("Rekor v%d at %s refused the entry: %w", l.v, l.url, err)
	}
	return nil
}

func logIDHex(b *protobundle.Bundle) string {
	e := b.GetVerificationMaterial().GetTlogEntries()
	if len(e) == 0 {
		return ""
	}
	return hex.EncodeToString(e[0].GetLogId().GetKeyId())
}

// onceMap runs f once per key and shares its result.
type onceMap[T any] struct {
	mu sync.Mutex
	m  map[string]*onceValue[T]
}

type onceValue[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (m *onceMap[T]) do(key string, f func() (T, error)) (T, error) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]*onceValue[T]{}
	}
	ov, ok := m.m[key]
	if !ok {
		ov = &onceValue[T]{}
		m.m[key] = ov
	}
	m.mu.Unlock()
	ov.once.Do(func() { ov.v, ov.err = f() })
	return ov.v, ov.err
}
