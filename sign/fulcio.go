package sign

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/oauthflow"

	"github.com/sigil-dev/sigil/internal/httpretry"
	"github.com/sigil-dev/sigil/setting"
)

// fulcio is the default CertificateSource: it fetches one code-signing
// certificate for the run's key pair and serves it to every signature,
// renewing it (with a fresh identity token) only when it is about to
// expire.
//
// sigstore-go's Fulcio client returns only the leaf certificate; the legacy
// cosign format carries the chain too (verifiers such as Kyverno build the
// path from it), so this small client keeps the whole chain.
type fulcio struct {
	url     string
	client  *http.Client
	token   func(ctx context.Context) (string, error)
	now     func() time.Time
	keypair sgsign.Keypair

	mu       sync.Mutex
	chain    []*x509.Certificate // leaf first
	requests int
}

// renewBefore is how long before expiry a certificate stops being used: a
// signature's log entry must fall within the certificate's validity.
const renewBefore = 2 * time.Minute

// Chain implements CertificateSource.
func (f *fulcio) Chain(ctx context.Context) ([]*x509.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.chain) > 0 && f.now().Add(renewBefore).Before(f.chain[0].NotAfter) {
		return f.chain, nil
	}
	token, err := f.token(ctx)
	if err != nil {
		return nil, err
	}
	chain, err := f.request(ctx, token)
	if err != nil {
		return nil, err
	}
	f.chain = chain
	return chain, nil
}

// count is how many certificates were requested.
func (f *fulcio) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

type fulcioRequest struct {
	Credentials struct {
		OIDCIdentityToken string `json:"oidcIdentityToken"`
	} `json:"credentials"`
	PublicKeyRequest struct {
		PublicKey struct {
			Algorithm string `json:"algorithm"`
			Content   string `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession string `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
}

type fulcioResponse struct {
	Embedded *struct {
		Chain struct {
			Certificates []string `json:"certificates"`
		} `json:"chain"`
	} `json:"signedCertificateEmbeddedSct"`
	Detached *struct {
		Chain struct {
			Certificates []string `json:"certificates"`
		} `json:"chain"`
	} `json:"signedCertificateDetachedSct"`
}

func (f *fulcio) request(ctx context.Context, token string) ([]*x509.Certificate, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("the identity token is not a JWT")
	}
	claims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("the identity token's claims are not base64url: %w", err)
	}
	subject, err := oauthflow.SubjectFromUnverifiedToken(claims)
	if err != nil {
		return nil, fmt.Errorf("reading the identity token's subject: %w", err)
	}
	// Proof of possession: the subject signed with the run's key.
	proof, _, err := f.keypair.SignData(ctx, []byte(subject))
	if err != nil {
		return nil, fmt.Errorf("signing the proof of possession: %w", err)
	}
	pubPEM, err := f.keypair.GetPublicKeyPem()
	if err != nil {
		return nil, err
	}
	var req fulcioRequest
	req.Credentials.OIDCIdentityToken = token
	req.PublicKeyRequest.PublicKey.Algorithm = f.keypair.GetKeyAlgorithm()
	req.PublicKeyRequest.PublicKey.Content = pubPEM
	req.PublicKeyRequest.ProofOfPossession = base64.StdEncoding.EncodeToString(proof)
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(f.url, "/")+"/api/v2/signingCert", bytes.NewReader(body))
	if err != nil {
		return nil, setting.Errorf(setting.FulcioURL, "%q: %v", f.url, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	// The lock is held: every signature waits for this one certificate.
	f.requests++
	resp, err := f.client.Do(hr)
	if err != nil {
		if se := httpretry.Cause(err); se != err {
			return nil, fmt.Errorf("requesting a certificate: %w", se)
		}
		return nil, fmt.Errorf("requesting a certificate from Fulcio at %s: %w", f.url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading Fulcio's answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("Fulcio at %s refused the certificate request (%s): %s", f.url, resp.Status, fulcioMessage(raw))
	}
	var fr fulcioResponse
	if err := json.Unmarshal(raw, &fr); err != nil {
		return nil, &httpretry.ServiceError{Service: "Fulcio", At: f.url, Err: fmt.Errorf("its answer to the certificate request is not JSON: %w", err)}
	}
	var pems []string
	switch {
	case fr.Embedded != nil:
		pems = fr.Embedded.Chain.Certificates
	case fr.Detached != nil:
		pems = fr.Detached.Chain.Certificates
	}
	var chain []*x509.Certificate
	for _, p := range pems {
		rest := []byte(p)
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("Fulcio returned a certificate that does not parse: %w", err)
			}
			chain = append(chain, c)
		}
	}
	if len(chain) == 0 {
		return nil, errors.New("Fulcio returned no certificate")
	}
	return chain, nil
}

// fulcioMessage extracts Fulcio's error message, bounded.
func fulcioMessage(raw []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(raw))
	if json.Unmarshal(raw, &e) == nil && e.Message != "" {
		msg = e.Message
	}
	if len(msg) > 512 {
		msg = msg[:512] + "…"
	}
	return msg
}

func encodeCerts(certs []*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}
