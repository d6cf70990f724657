package attestation

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// StatementType is the _type of an in-toto Statement v1.
const StatementType = "https://in-toto.io/Statement/v1"

// PayloadType is the DSSE payload type of an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// Subject is one artifact a statement is about.
type Subject struct {
	// Name is the artifact's name: an image's repository (as cosign
	// writes it) or a file's name. Verifiers match digests, not names.
	Name string `json:"name,omitempty"`
	// Digest maps algorithm names (sha256, sha512, ...) to hex digests.
	Digest map[string]string `json:"digest"`
}

// SubjectFor returns the subject named name with the digest ALG:HEX (an
// image digest such as sha256:abc..., or a file's).
func SubjectFor(name, digest string) (Subject, error) {
	alg, hx, ok := strings.Cut(digest, ":")
	if _, err := hex.DecodeString(hx); !ok || alg == "" || hx == "" || err != nil || strings.ToLower(hx) != hx {
		return Subject{}, fmt.Errorf("digest %q: want ALG:HEX, such as sha256:0a1b...", digest)
	}
	return Subject{Name: name, Digest: map[string]string{alg: hx}}, nil
}

// Statement is an in-toto statement as read back (see ParseStatement).
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

// Digests lists every subject digest as ALG:HEX, sorted.
func (s *Statement) Digests() []string {
	var d []string
	for _, sub := range s.Subject {
		for alg, hx := range sub.Digest {
			d = append(d, alg+":"+hx)
		}
	}
	slices.Sort(d)
	return d
}

// NewStatement returns the JSON of an in-toto Statement v1 about subjects,
// with the predicate (a JSON object, written compacted but otherwise as
// given). At least one subject is required; the predicate type must be an
// absolute URI.
func NewStatement(subjects []Subject, predicateType string, predicate []byte) ([]byte, error) {
	if len(subjects) == 0 {
		return nil, errors.New("a statement needs at least one subject")
	}
	for _, s := range subjects {
		if len(s.Digest) == 0 {
			return nil, fmt.Errorf("subject %q has no digest", s.Name)
		}
	}
	if err := CheckPredicateType(predicateType); err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, predicate); err != nil {
		return nil, fmt.Errorf("the predicate is not JSON: %w", err)
	}
	if compact.Len() == 0 || compact.Bytes()[0] != '{' {
		return nil, errors.New("the predicate is not a JSON object")
	}
	return json.Marshal(Statement{Type: StatementType, Subject: subjects, PredicateType: predicateType, Predicate: compact.Bytes()})
}

// maxStatementRead bounds what ParseStatement reads: more than any log
// accepts.
const maxStatementRead = 64 << 20

// ParseStatement reads an in-toto statement (v1, or v0.1 as cosign 2's
// attest writes it). It checks the shape only: a _type of in-toto's, at
// least one subject with a digest, and a predicate type.
func ParseStatement(raw []byte) (*Statement, error) {
	if len(raw) > maxStatementRead {
		return nil, fmt.Errorf("the statement is %d bytes, more than %d", len(raw), maxStatementRead)
	}
	var s Statement
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("the signed payload is not an in-toto statement: %v", err)
	}
	if !strings.HasPrefix(s.Type, "https://in-toto.io/Statement/") {
		return nil, fmt.Errorf("the signed payload's _type is %q, not an in-toto statement", s.Type)
	}
	if len(s.Digests()) == 0 {
		return nil, errors.New("the in-toto statement has no subject digest")
	}
	if s.PredicateType == "" {
		return nil, errors.New("the in-toto statement has no predicate type")
	}
	return &s, nil
}
