package regtoken

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Access is one resource and the actions granted on it, as the token's
// "access" claim lists them.
type Access struct {
	// Type is "repository" (or "registry" for the catalog).
	Type string `json:"type"`
	// Name is the repository, e.g. "org/app".
	Name string `json:"name"`
	// Actions are "pull", "push", "delete" or "*".
	Actions []string `json:"actions"`
}

// Allows reports whether a grants action on the resource typ/name.
func (a Access) Allows(typ, name, action string) bool {
	return a.Type == typ && a.Name == name && (slices.Contains(a.Actions, action) || slices.Contains(a.Actions, "*"))
}

// Claims are a token's claims.
type Claims struct {
	jwt.Claims
	Access []Access `json:"access"`
}

// Allows reports whether the token grants action on typ/name.
func (c *Claims) Allows(typ, name, action string) bool {
	for _, a := range c.Access {
		if a.Allows(typ, name, action) {
			return true
		}
	}
	return false
}

// KeyPair is the token signing key and its self-signed certificate, the
// one a registry is told to trust.
type KeyPair struct {
	Key  *ecdsa.PrivateKey
	Cert *x509.Certificate
}

// NewKeyPair makes a P-256 key and a self-signed certificate for it, valid
// for ten years.
func NewKeyPair(commonName string) (*KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Key: key, Cert: cert}, nil
}

// MarshalPEM returns the key (PKCS#8) and the certificate in PEM, for the
// bed's key files: the registry reads the certificate as its
// rootcertbundle.
func (kp *KeyPair) MarshalPEM() (key, cert []byte, err error) {
	der, err := x509.MarshalPKCS8PrivateKey(kp.Key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.Cert.Raw}), nil
}

// ParseKeyPair reads what MarshalPEM wrote and checks that the certificate
// is the key's.
func ParseKeyPair(keyPEM, certPEM []byte) (*KeyPair, error) {
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		return nil, errors.New("the token key holds no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the token key: %w", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the token key is a %T, not an ECDSA key", k)
	}
	if blk, _ = pem.Decode(certPEM); blk == nil {
		return nil, errors.New("the token certificate holds no PEM block")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the token certificate: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("the token certificate is not the token key's")
	}
	return &KeyPair{Key: key, Cert: cert}, nil
}

// Leeway is the clock skew allowed on a token's times, as the distribution
// registry allows (registry/auth/token: Leeway).
const Leeway = 60 * time.Second

// Authority signs tokens as one issuer and verifies its own.
type Authority struct {
	// Issuer is the "iss" claim, the registry's configured issuer.
	Issuer string
	keys   *KeyPair
	kid    string
}

// NewAuthority returns the authority named issuer signing with kp.
func NewAuthority(issuer string, kp *KeyPair) (*Authority, error) {
	tp, err := (&jose.JSONWebKey{Key: &kp.Key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &Authority{Issuer: issuer, keys: kp, kid: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

// Sign returns a token for subject (empty for anonymous) and the service
// audience granting access, valid from now for lifetime.
func (a *Authority) Sign(subject, audience string, access []Access, now time.Time, lifetime time.Duration) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").
		WithHeader("kid", a.kid).
		WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(a.keys.Cert.Raw)})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: a.keys.Key}, opts)
	if err != nil {
		return "", err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	if access == nil {
		access = []Access{} // the registry reads "access": [] as nothing granted
	}
	c := Claims{
		Claims: jwt.Claims{
			Issuer:    a.Issuer,
			Subject:   subject,
			Audience:  jwt.Audience{audience},
			Expiry:    jwt.NewNumericDate(now.Add(lifetime)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        base64.RawURLEncoding.EncodeToString(id),
		},
		Access: access,
	}
	return jwt.Signed(signer).Claims(c).Serialize()
}

// Verify checks raw's signature, issuer, audience and times as the
// distribution registry does, and returns its claims.
func (a *Authority) Verify(raw, audience string, now time.Time) (*Claims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("malformed token: %w", err)
	}
	var c Claims
	if err := tok.Claims(&a.keys.Key.PublicKey, &c); err != nil {
		return nil, fmt.Errorf("invalid token: %w", err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: a.Issuer, AnyAudience: jwt.Audience{audience}, Time: now}, Leeway); err != nil {
		return nil, fmt.Errorf("invalid token: %w", err)
	}
	return &c, nil
}
