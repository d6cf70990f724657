package policy

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// trustMaterial is what the policies carry of a private Sigstore instance.
type trustMaterial struct {
	cas []certAuthority
	// rekor are the Rekor v1 log's keys (more than one after a key
	// rotation), newest first.
	rekor []tlog
	// ct are the certificate transparency logs, newest first; none means
	// the tools must skip the SCT check.
	ct []tlog
	// rootJSON is the trusted root as Sigstore's trusted_root.json, for
	// tools that take the file itself (Flux).
	rootJSON []byte
}

// certAuthority is one Fulcio certificate authority.
type certAuthority struct {
	uri string
	// chainPEM is the chain, intermediates first and the root last, as
	// policy-controller's TrustRoot wants it.
	chainPEM []byte
	// org and cn name the root's subject, which policy-controller's
	// TrustRoot requires.
	org, cn string
}

// tlog is one transparency log.
type tlog struct {
	url    string
	keyPEM []byte
	hash   string // policy-controller's name of the Merkle tree hash
	start  int64  // validity start, Unix seconds, for ordering
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func pemKey(k crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func hashName(h crypto.Hash) (string, error) {
	switch h {
	case crypto.SHA256:
		return "sha-256", nil
	case crypto.SHA384:
		return "sha-384", nil
	case crypto.SHA512:
		return "sha-512", nil
	}
	return "", fmt.Errorf("unsupported Merkle tree hash %v", h)
}

func normURL(u string) string { return strings.TrimRight(u, "/") }

// logs converts a trusted root's logs, newest first (then by URL), keeping
// only those at url when url is not empty.
func logs(m map[string]*root.TransparencyLog, url string) ([]tlog, error) {
	var out []tlog
	for id, l := range m {
		if url != "" && normURL(l.BaseURL) != normURL(url) {
			continue
		}
		key, err := pemKey(l.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("log %s (%s): encoding its key: %w", l.BaseURL, id, err)
		}
		h, err := hashName(l.HashFunc)
		if err != nil {
			return nil, fmt.Errorf("log %s (%s): %w", l.BaseURL, id, err)
		}
		out = append(out, tlog{url: normURL(l.BaseURL), keyPEM: key, hash: h, start: l.ValidityPeriodStart.Unix()})
	}
	slices.SortFunc(out, func(a, b tlog) int {
		if c := cmp.Compare(b.start, a.start); c != 0 {
			return c // newest first
		}
		if c := strings.Compare(a.url, b.url); c != 0 {
			return c
		}
		return bytes.Compare(a.keyPEM, b.keyPEM)
	})
	return out, nil
}

// trustFrom reads what the policies need from tr: the Fulcio chains, the
// Rekor v1 log (the one at rekorURL, or the only log), and the CT logs.
func trustFrom(tr *root.TrustedRoot, rekorURL string) (*trustMaterial, error) {
	tm := &trustMaterial{}
	for i, ca := range tr.FulcioCertificateAuthorities() {
		f, ok := ca.(*root.FulcioCertificateAuthority)
		if !ok || f.Root == nil {
			return nil, fmt.Errorf("trusted root: certificate authority %d has no root certificate", i)
		}
		if f.URI == "" {
			return nil, fmt.Errorf("trusted root: certificate authority %d names no Fulcio URL (policy-controller requires one)", i)
		}
		c := certAuthority{uri: normURL(f.URI)}
		for _, im := range f.Intermediates {
			c.chainPEM = append(c.chainPEM, pemCert(im)...)
		}
		c.chainPEM = append(c.chainPEM, pemCert(f.Root)...)
		c.cn = f.Root.Subject.CommonName
		if len(f.Root.Subject.Organization) > 0 {
			c.org = f.Root.Subject.Organization[0]
		}
		// policy-controller's TrustRoot requires both names; a root
		// without them still verifies, so name it after its URL.
		if c.org == "" {
			c.org = c.uri
		}
		if c.cn == "" {
			c.cn = c.uri
		}
		tm.cas = append(tm.cas, c)
	}
	if len(tm.cas) == 0 {
		return nil, errors.New("trusted root lists no Fulcio certificate authority: keyless signatures cannot be verified against it")
	}

	all, err := logs(tr.RekorLogs(), "")
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	switch {
	case rekorURL != "":
		if tm.rekor, err = logs(tr.RekorLogs(), rekorURL); err != nil {
			return nil, fmt.Errorf("trusted root: %w", err)
		}
		if len(tm.rekor) == 0 {
			return nil, fmt.Errorf("trusted root lists no transparency log at %s (it lists %s)", rekorURL, logURLs(all))
		}
	case len(uniqueURLs(all)) == 1:
		tm.rekor = all
	case len(all) == 0:
		return nil, errors.New("trusted root lists no transparency log: the legacy signature format needs a Rekor v1 log")
	default:
		return nil, fmt.Errorf("trusted root lists several transparency logs (%s): say which is the Rekor v1 log the legacy signatures were entered in", logURLs(all))
	}
	if tm.ct, err = logs(tr.CTLogs(), ""); err != nil {
		return nil, fmt.Errorf("trusted root: CT %w", err)
	}

	raw, err := tr.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("trusted root: encoding it as JSON: %w", err)
	}
	// protojson varies its spacing from run to run; fix it.
	var compact, indented bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	indented.WriteByte('\n')
	tm.rootJSON = indented.Bytes()
	return tm, nil
}

func uniqueURLs(ls []tlog) []string {
	var u []string
	for _, l := range ls {
		u = append(u, l.url)
	}
	slices.Sort(u)
	return slices.Compact(u)
}

func logURLs(ls []tlog) string {
	u := uniqueURLs(ls)
	if len(u) == 0 {
		return "none"
	}
	return strings.Join(u, ", ")
}

// rootsPEM is every Fulcio certificate (roots and intermediates), for
// Kyverno's roots field, which puts them all in one pool.
func (tm *trustMaterial) rootsPEM() string {
	var b []byte
	for _, ca := range tm.cas {
		b = append(b, ca.chainPEM...)
	}
	return string(b)
}
