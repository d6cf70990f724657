package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// The trust files are written with sigstore-go's pkg/root, from the same
// specs as cosign v3's `trusted-root create` and `signing-config create`
// (cmd/cosign/cli/trustedroot and signingconfig in cosign v3.1.3) and to
// the same result: a spec is comma-separated KEY=VALUE pairs, times are
// RFC 3339.

// trustedRootCmd writes a trusted_root.json.
//
//	--fulcio url=U,certificate-chain=PEM[,start-time=T][,end-time=T]
//	    the chain's last certificate is the root, the others intermediates;
//	    validity from the root's NotBefore unless start-time is given
//	--tsa    url=U,certificate-chain=PEM[,start-time=T][,end-time=T]
//	    leaf first, root last; validity from the leaf's NotBefore
//	--rekor  url=U,public-key=PEM,start-time=T[,end-time=T][,origin=O]
//	--ctlog  the same as --rekor
//	    the log ID is the SHA-256 of the key's DER (RFC 6962), or with
//	    origin the checkpoint key ID for that origin (Rekor v2)
func trustedRootCmd(args []string) error {
	fs := flag.NewFlagSet("trustedroot", flag.ContinueOnError)
	out := fs.String("out", "", "file to write (required)")
	var fulcios, tsas, rekors, ctlogs ruleList
	fs.Var(&fulcios, "fulcio", "a Fulcio CA: url=,certificate-chain=[,start-time=][,end-time=] (repeatable)")
	fs.Var(&tsas, "tsa", "a timestamp authority: url=,certificate-chain=[,start-time=][,end-time=] (repeatable)")
	fs.Var(&rekors, "rekor", "a Rekor log: url=,public-key=,start-time=[,end-time=][,origin=] (repeatable)")
	fs.Var(&ctlogs, "ctlog", "a CT log: url=,public-key=,start-time=[,end-time=][,origin=] (repeatable)")
	return writeTrustFile(fs, args, out, func() (json.Marshaler, error) {
		return buildTrustedRoot(fulcios, tsas, rekors, ctlogs)
	})
}

// writeTrustFile parses args with fs, then writes what build makes to
// the file --out names.
func writeTrustFile(fs *flag.FlagSet, args []string, out *string, build func() (json.Marshaler, error)) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return errors.New("--out is required, and no arguments besides flags")
	}
	v, err := build()
	if err != nil {
		return err
	}
	b, err := v.MarshalJSON()
	if err != nil {
		return err
	}
	return writeFileAtomic(*out, b, 0o644)
}

func buildTrustedRoot(fulcios, tsas, rekors, ctlogs []string) (*root.TrustedRoot, error) {
	var errs []error
	cas := parseEach("fulcio", fulcios, fulcioCA, &errs)
	tas := parseEach("tsa", tsas, timestampAuthority, &errs)
	rekorLogs := logsByID("rekor", parseEach("rekor", rekors, transparencyLog, &errs), &errs)
	ctLogs := logsByID("ctlog", parseEach("ctlog", ctlogs, transparencyLog, &errs), &errs)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return root.NewTrustedRoot(root.TrustedRootMediaType01, cas, ctLogs, tas, rekorLogs)
}

// parseEach parses each spec given to a flag, adding to errs an error
// naming the flag and the spec for each that fails.
func parseEach[T any](flag string, specs []string, parse func(string) (T, error), errs *[]error) []T {
	var out []T
	for _, s := range specs {
		v, err := parse(s)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("--%s %s: %w", flag, s, err))
			continue
		}
		out = append(out, v)
	}
	return out
}

// logsByID keys logs by their hex ID, as a trusted root does; two logs
// with one ID are an error.
func logsByID(flag string, logs []*root.TransparencyLog, errs *[]error) map[string]*root.TransparencyLog {
	m := map[string]*root.TransparencyLog{}
	for _, l := range logs {
		id := hex.EncodeToString(l.ID)
		if _, dup := m[id]; dup {
			*errs = append(*errs, fmt.Errorf("--%s %s: another log has the same ID %s", flag, l.BaseURL, id))
		}
		m[id] = l
	}
	return m
}

// specKeys parses a spec, checking that every key is known and every
// required one given.
func specKeys(spec string, required []string, optional ...string) (map[string]string, error) {
	kv := map[string]string{}
	for pair := range strings.SplitSeq(spec, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", pair)
		}
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			return nil, fmt.Errorf("unknown key %q (known: %s)", k, strings.Join(append(slices.Clone(required), optional...), ", "))
		}
		if _, dup := kv[k]; dup {
			return nil, fmt.Errorf("key %q given twice", k)
		}
		kv[k] = v
	}
	for _, k := range required {
		if kv[k] == "" {
			return nil, fmt.Errorf("missing key %q", k)
		}
	}
	return kv, nil
}

// validity reads start-time and end-time, start defaulting to def.
func validity(kv map[string]string, def time.Time) (start, end time.Time, err error) {
	start = def
	if s, ok := kv["start-time"]; ok {
		if start, err = time.Parse(time.RFC3339, s); err != nil {
			return start, end, fmt.Errorf("start-time: %w", err)
		}
	}
	if s, ok := kv["end-time"]; ok {
		if end, err = time.Parse(time.RFC3339, s); err != nil {
			return start, end, fmt.Errorf("end-time: %w", err)
		}
	}
	return start, end, nil
}

func fulcioCA(spec string) (root.CertificateAuthority, error) {
	kv, err := specKeys(spec, []string{"url", "certificate-chain"}, "start-time", "end-time")
	if err != nil {
		return nil, err
	}
	certs, err := readCerts(kv["certificate-chain"])
	if err != nil {
		return nil, err
	}
	rootCert := certs[len(certs)-1]
	start, end, err := validity(kv, rootCert.NotBefore)
	if err != nil {
		return nil, err
	}
	return &root.FulcioCertificateAuthority{
		Root:                rootCert,
		Intermediates:       certs[:len(certs)-1],
		ValidityPeriodStart: start,
		ValidityPeriodEnd:   end,
		URI:                 kv["url"],
	}, nil
}

func timestampAuthority(spec string) (root.TimestampingAuthority, error) {
	kv, err := specKeys(spec, []string{"url", "certificate-chain"}, "start-time", "end-time")
	if err != nil {
		return nil, err
	}
	certs, err := readCerts(kv["certificate-chain"])
	if err != nil {
		return nil, err
	}
	if len(certs) < 2 || certs[0].IsCA {
		return nil, fmt.Errorf("%s: want a chain of a leaf first and a root last", kv["certificate-chain"])
	}
	start, end, err := validity(kv, certs[0].NotBefore)
	if err != nil {
		return nil, err
	}
	return &root.SigstoreTimestampingAuthority{
		Root:                certs[len(certs)-1],
		Intermediates:       certs[1 : len(certs)-1],
		Leaf:                certs[0],
		ValidityPeriodStart: start,
		ValidityPeriodEnd:   end,
		URI:                 kv["url"],
	}, nil
}

func transparencyLog(spec string) (*root.TransparencyLog, error) {
	kv, err := specKeys(spec, []string{"url", "public-key", "start-time"}, "end-time", "origin")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(kv["public-key"])
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%s holds no PEM PUBLIC KEY block", kv["public-key"])
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kv["public-key"], err)
	}
	sum := sha256.Sum256(blk.Bytes)
	id := sum[:]
	if origin, ok := kv["origin"]; ok {
		if _, id, err = note.KeyHash(origin, pub); err != nil {
			return nil, fmt.Errorf("the checkpoint key ID for origin %s: %w", origin, err)
		}
	}
	start, end, err := validity(kv, time.Time{})
	if err != nil {
		return nil, err
	}
	return &root.TransparencyLog{
		BaseURL:             kv["url"],
		ID:                  id,
		HashFunc:            crypto.SHA256,
		PublicKey:           pub,
		SignatureHashFunc:   signatureHash(pub),
		ValidityPeriodStart: start,
		ValidityPeriodEnd:   end,
	}, nil
}

// signatureHash is the hash a log's key signs with: SHA-256, SHA-384 or
// SHA-512 by ECDSA curve, SHA-512 for ed25519.
func signatureHash(pub crypto.PublicKey) crypto.Hash {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P384():
			return crypto.SHA384
		case elliptic.P521():
			return crypto.SHA512
		}
	case ed25519.PublicKey:
		return crypto.SHA512
	}
	return crypto.SHA256
}

// readCerts reads every certificate of a PEM file, in order.
func readCerts(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s holds a PEM %s block, want only CERTIFICATE blocks", path, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return certs, nil
}

// signingConfigCmd writes a signing config (v0.2).
//
//	--fulcio, --oidc-provider, --rekor, --tsa
//	    url=U,api-version=N,start-time=T,operator=O[,end-time=T], in the
//	    order given (clients take the first that fits)
//	--rekor-config, --tsa-config  ANY, ALL or EXACT:N
func signingConfigCmd(args []string) error {
	fs := flag.NewFlagSet("signingconfig", flag.ContinueOnError)
	out := fs.String("out", "", "file to write (required)")
	var fulcios, oidcs, rekors, tsas ruleList
	fs.Var(&fulcios, "fulcio", "a Fulcio: url=,api-version=,start-time=,operator=[,end-time=] (repeatable)")
	fs.Var(&oidcs, "oidc-provider", "an OIDC provider, the same keys (repeatable)")
	fs.Var(&rekors, "rekor", "a Rekor log, the same keys (repeatable)")
	fs.Var(&tsas, "tsa", "a timestamp authority, the same keys (repeatable)")
	rekorConfig := fs.String("rekor-config", "", "how many Rekor logs to use: ANY, ALL or EXACT:N (required with --rekor)")
	tsaConfig := fs.String("tsa-config", "", "how many timestamp authorities to use: ANY, ALL or EXACT:N (required with --tsa)")
	return writeTrustFile(fs, args, out, func() (json.Marshaler, error) {
		return buildSigningConfig(fulcios, oidcs, rekors, tsas, *rekorConfig, *tsaConfig)
	})
}

func buildSigningConfig(fulcios, oidcs, rekors, tsas []string, rekorConfig, tsaConfig string) (*root.SigningConfig, error) {
	var errs []error
	if len(rekors) > 0 && rekorConfig == "" {
		errs = append(errs, errors.New("--rekor needs --rekor-config"))
	}
	if len(tsas) > 0 && tsaConfig == "" {
		errs = append(errs, errors.New("--tsa needs --tsa-config"))
	}
	f := parseEach("fulcio", fulcios, service, &errs)
	o := parseEach("oidc-provider", oidcs, service, &errs)
	r := parseEach("rekor", rekors, service, &errs)
	t := parseEach("tsa", tsas, service, &errs)
	rc := parseEach("rekor-config", []string{rekorConfig}, serviceConfig, &errs)
	tc := parseEach("tsa-config", []string{tsaConfig}, serviceConfig, &errs)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return root.NewSigningConfig(root.SigningConfigMediaType02, f, o, r, rc[0], t, tc[0])
}

func service(spec string) (root.Service, error) {
	kv, err := specKeys(spec, []string{"url", "api-version", "start-time", "operator"}, "end-time")
	if err != nil {
		return root.Service{}, err
	}
	v, err := strconv.ParseUint(kv["api-version"], 10, 32)
	if err != nil {
		return root.Service{}, fmt.Errorf("api-version: %w", err)
	}
	start, end, err := validity(kv, time.Time{})
	if err != nil {
		return root.Service{}, err
	}
	return root.Service{
		URL:                 kv["url"],
		MajorAPIVersion:     uint32(v),
		Operator:            kv["operator"],
		ValidityPeriodStart: start,
		ValidityPeriodEnd:   end,
	}, nil
}

// serviceConfig parses ANY, ALL or EXACT:N; "" is the unset selector.
func serviceConfig(s string) (root.ServiceConfiguration, error) {
	mode, count, hasCount := strings.Cut(strings.ToUpper(s), ":")
	switch {
	case s == "":
		return root.ServiceConfiguration{}, nil
	case mode == "ANY" && !hasCount:
		return root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}, nil
	case mode == "ALL" && !hasCount:
		return root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ALL}, nil
	case mode == "EXACT" && hasCount:
		n, err := strconv.ParseUint(count, 10, 32)
		if err != nil || n == 0 {
			return root.ServiceConfiguration{}, fmt.Errorf("EXACT:%s: want a count above 0", count)
		}
		return root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_EXACT, Count: uint32(n)}, nil
	}
	return root.ServiceConfiguration{}, fmt.Errorf("%q: want ANY, ALL or EXACT:N", s)
}
