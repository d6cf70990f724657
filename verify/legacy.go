package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/sigil-dev/sigil/artifact"
)

// Annotations of a legacy cosign signature layer in a .sig image.
const (
	annotationSignature   = "dev.cosignproject.cosign/signature"
	annotationCertificate = "dev.sigstore.cosign/certificate"
	annotationChain       = "dev.sigstore.cosign/chain"
	annotationBundle      = "dev.sigstore.cosign/bundle"
	annotationTimestamp   = "dev.sigstore.cosign/rfc3161timestamp"
)

// bundleV01MediaType is the media type of a Sigstore bundle v0.1: the only
// version whose transparency log entries may carry a signed entry
// timestamp without an inclusion proof, which is all a legacy signature has.
const bundleV01MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1"

// legacySignature is a signature in one of cosign's pre-bundle formats: a
// layer of a .sig image, or the JSON `cosign sign-blob --bundle` wrote before
// the Sigstore bundle (cosign's LocalSignedPayload).
type legacySignature struct {
	b64Signature string
	certPEM      []byte
	chainPEM     []byte
	rekorBundle  []byte // the JSON of a cosign RekorBundle; empty when absent
	timestamp    []byte // the JSON of a cosign RFC3161Timestamp; empty when absent
}

// checkError is an error that one check is to blame for.
type checkError struct {
	check string
	err   error
}

func (e *checkError) Error() string { return e.err.Error() }
func (e *checkError) Unwrap() error { return e.err }

func blame(check string, format string, a ...any) error {
	return &checkError{check: check, err: fmt.Errorf(format, a...)}
}

// legacyFromAnnotations reads a .sig layer's annotations.
func legacyFromAnnotations(ann map[string]string) legacySignature {
	return legacySignature{
		b64Signature: ann[annotationSignature],
		certPEM:      []byte(ann[annotationCertificate]),
		chainPEM:     []byte(ann[annotationChain]),
		rekorBundle:  []byte(ann[annotationBundle]),
		timestamp:    []byte(ann[annotationTimestamp]),
	}
}

// toBundle turns a legacy signature over the message whose SHA-256 digest is
// given into a Sigstore bundle v0.1, so that sigstore-go verifies it exactly
// as it verifies any bundle: a message signature, the certificate (and the
// chain as carried), the Rekor v1 entry rebuilt from the signed entry
// timestamp's payload, and the RFC 3161 timestamp if any.
//
// Neither cosign v2's pkg nor sigstore-go has this conversion: cosign's
// bundle.MakeProtobufBundle builds a v0.3 bundle, which needs an inclusion
// proof a legacy signature does not carry (its entry conversion dereferences
// the missing proof), and requires the rekor entry types to be registered;
// cosign v2 itself verifies the legacy format with its own older code path,
// not with sigstore-go. So this small conversion is written here, and
// everything it produces is then checked by sigstore-go.
func (l legacySignature) toBundle(digest []byte, allowKey bool) (*bundle.Bundle, error) {
	if l.b64Signature == "" {
		return nil, blame(CheckSignature, "the signature layer has no %s annotation", annotationSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(l.b64Signature)
	if err != nil || len(sig) == 0 {
		return nil, blame(CheckSignature, "the %s annotation is not a base64 signature", annotationSignature)
	}
	return l.bundle(allowKey, &protobundle.Bundle{Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
		MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest},
		Signature:     sig,
	}}})
}

// toDSSEBundle turns a legacy attestation (a layer of cosign 2's .att
// image, whose payload is the DSSE envelope and whose signature is inside
// it) into a Sigstore bundle v0.1 holding that envelope, with the
// certificate, the Rekor v1 entry and the timestamp as carried.
func (l legacySignature) toDSSEBundle(envelope []byte, allowKey bool) (*bundle.Bundle, error) {
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("the attestation layer is not a DSSE envelope: %v", err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil || len(payload) == 0 {
		return nil, errors.New("the attestation's DSSE payload is not base64")
	}
	de := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil || len(sig) == 0 {
			return nil, blame(CheckSignature, "the attestation's DSSE signature is not base64")
		}
		de.Signatures = append(de.Signatures, &protodsse.Signature{Sig: sig, Keyid: s.KeyID})
	}
	if len(de.Signatures) != 1 {
		return nil, blame(CheckSignature, "the attestation's DSSE envelope has %d signatures, want 1", len(de.Signatures))
	}
	return l.bundle(allowKey, &protobundle.Bundle{Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: de}})
}

// bundle completes pb, holding the signed content, with the verification
// material the legacy signature carries.
func (l legacySignature) bundle(allowKey bool, pb *protobundle.Bundle) (*bundle.Bundle, error) {
	vm := &protobundle.VerificationMaterial{}
	if len(bytes.TrimSpace(l.certPEM)) == 0 {
		if !allowKey {
			return nil, blame(CheckCertificateChain, "the signature carries no certificate (it was made with a key, not keylessly: verify it with that key)")
		}
		// Made with a key (cosign sign --key), and a key is what the
		// policy asks for.
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}
	} else {
		certs, err := derCertificates(l.certPEM)
		if err != nil || len(certs) == 0 {
			return nil, blame(CheckCertificateChain, "the signature's certificate is not a PEM certificate")
		}
		chain := [][]byte{certs[0]}
		if len(bytes.TrimSpace(l.chainPEM)) > 0 {
			rest, err := derCertificates(l.chainPEM)
			if err != nil {
				return nil, blame(CheckCertificateChain, "the signature's certificate chain is not PEM certificates")
			}
			chain = append(chain, rest...)
		}
		vm.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{}}
		for _, c := range chain {
			vm.GetX509CertificateChain().Certificates = append(vm.GetX509CertificateChain().Certificates, &protocommon.X509Certificate{RawBytes: c})
		}
	}
	if len(l.rekorBundle) > 0 {
		e, err := rekorV1Entry(l.rekorBundle)
		if err != nil {
			return nil, &checkError{check: CheckTransparencyLog, err: err}
		}
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{e}
	}
	if len(l.timestamp) > 0 {
		var ts cbundle.RFC3161Timestamp
		if err := json.Unmarshal(l.timestamp, &ts); err != nil || len(ts.SignedRFC3161Timestamp) == 0 {
			return nil, blame(CheckTimestamp, "the RFC 3161 timestamp annotation is unreadable")
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts.SignedRFC3161Timestamp}},
		}
	}
	pb.MediaType = bundleV01MediaType
	pb.VerificationMaterial = vm
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, blame(CheckTransparencyLog, "the transparency log entry is unreadable: %v", err)
	}
	return b, nil
}

// rekorV1Entry rebuilds the log entry a cosign RekorBundle describes: the
// payload of its signed entry timestamp is the canonicalized entry body, its
// integrated time, log index and log id.
func rekorV1Entry(raw []byte) (*protorekor.TransparencyLogEntry, error) {
	var rb cbundle.RekorBundle
	if err := json.Unmarshal(raw, &rb); err != nil {
		return nil, fmt.Errorf("the transparency log entry (the Rekor bundle annotation) is not JSON: %w", err)
	}
	b64, ok := rb.Payload.Body.(string)
	if !ok {
		return nil, errors.New("the transparency log entry has no body")
	}
	body, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(body) == 0 {
		return nil, errors.New("the transparency log entry's body is not base64")
	}
	var kv struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kv); err != nil || kv.Kind == "" || kv.APIVersion == "" {
		return nil, errors.New("the transparency log entry's body is not a Rekor entry (no kind and apiVersion)")
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil || len(logID) == 0 {
		return nil, errors.New("the transparency log entry's log id is not hex")
	}
	if len(rb.SignedEntryTimestamp) == 0 {
		return nil, errors.New("the transparency log entry has no signed entry timestamp")
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          rb.Payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion},
		IntegratedTime:    rb.Payload.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
		CanonicalizedBody: body,
	}, nil
}

// derCertificates decodes every CERTIFICATE block of a PEM text; anything
// else in it is an error.
func derCertificates(p []byte) ([][]byte, error) {
	var out [][]byte
	rest := bytes.TrimSpace(p)
	for len(rest) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("not PEM")
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q, want CERTIFICATE", b.Type)
		}
		out = append(out, b.Bytes)
		rest = bytes.TrimSpace(rest)
	}
	return out, nil
}

// parseBundleJSON reads a signature file: a Sigstore bundle (any version
// sigstore-go reads), or the JSON of cosign's older `sign-blob --bundle`,
// which is converted to a bundle over content (the file's SHA-256 digest);
// a signature made with a key is read only when allowKey.
// It never panics, whatever the input.
func parseBundleJSON(raw []byte, digest []byte, allowKey bool) (*bundle.Bundle, artifact.Format, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, "", fmt.Errorf("not a Sigstore bundle: the JSON is truncated or garbled: %w", err)
	}
	if _, ok := probe["mediaType"]; ok {
		pb := &protobundle.Bundle{}
		if err := protojson.Unmarshal(raw, pb); err != nil {
			return nil, artifact.FormatBundle, fmt.Errorf("not a valid Sigstore bundle: %w", err)
		}
		b, err := bundle.NewBundle(pb)
		if err != nil {
			return nil, artifact.FormatBundle, blameBundle(pb, err)
		}
		return b, artifact.FormatBundle, nil
	}
	if _, ok := probe["base64Signature"]; ok {
		var lp struct {
			Base64Signature string          `json:"base64Signature"`
			Cert            string          `json:"cert"`
			RekorBundle     json.RawMessage `json:"rekorBundle"`
		}
		if err := json.Unmarshal(raw, &lp); err != nil {
			return nil, artifact.FormatLegacy, fmt.Errorf("not a valid cosign signature bundle: %w", err)
		}
		certPEM, err := base64.StdEncoding.DecodeString(lp.Cert)
		if err != nil {
			return nil, artifact.FormatLegacy, blame(CheckCertificateChain, "the cosign signature bundle's cert is not base64")
		}
		l := legacySignature{b64Signature: lp.Base64Signature, certPEM: certPEM}
		if len(lp.RekorBundle) > 0 && string(lp.RekorBundle) != "null" {
			l.rekorBundle = lp.RekorBundle
		}
		b, err := l.toBundle(digest, allowKey)
		return b, artifact.FormatLegacy, err
	}
	return nil, "", errors.New("not a Sigstore bundle: no mediaType (nor a cosign signature bundle: no base64Signature)")
}

// blameBundle says which check a bundle's validation error belongs to: the
// transparency log when the bundle is valid without its log entries, the
// format otherwise.
func blameBundle(pb *protobundle.Bundle, err error) error {
	if len(pb.GetVerificationMaterial().GetTlogEntries()) > 0 {
		c := proto.Clone(pb).(*protobundle.Bundle)
		c.VerificationMaterial.TlogEntries = nil
		if _, e := bundle.NewBundle(c); e == nil {
			return blame(CheckTransparencyLog, "the bundle's transparency log entry is invalid: %v", err)
		}
	}
	return fmt.Errorf("not a valid Sigstore bundle: %w", err)
}

// sha256Sum is the SHA-256 digest of b.
func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
