package verify

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/provenance"
)

// Check names, in the order a report lists them.
const (
	// CheckFormat: the signature could be read, and is in a format the
	// verifier accepts.
	CheckFormat = "format"
	// CheckClaims: what was signed names the artifact (the simple-signing
	// payload's manifest digest, the in-toto statement's subject and
	// predicate type, or the file's digest).
	CheckClaims = "claims"
	// CheckSignature: the signature verifies with the certificate's key.
	CheckSignature = "signature"
	// CheckTransparencyLog: the transparency log entry is proven offline (a
	// Rekor v1 signed entry timestamp and/or inclusion proof, or a Rekor v2
	// inclusion proof with its checkpoint) by a log of the trusted root, and
	// records this signature.
	CheckTransparencyLog = "transparency-log"
	// CheckTimestamp: a trusted time for the signature exists (the log's
	// integrated time or a timestamp authority's signed timestamp).
	CheckTimestamp = "timestamp"
	// CheckCertificateChain: the certificate chains to a Fulcio CA of the
	// trusted root and was valid at the trusted time.
	CheckCertificateChain = "certificate-chain"
	// CheckIdentity: the certificate's identity matches the policy.
	CheckIdentity = "identity"
	// CheckKey: the signature was made with the public key the policy
	// gives, in place of certificate-chain and identity.
	CheckKey = "key"
	// CheckVerifier: sigstore-go's verifier, the authority on pass or
	// fail, refused a signature that every other check passed.
	CheckVerifier = "verifier"
	// CheckSubject: an attestation's statement names the artifact's
	// digest as a subject (in place of claims).
	CheckSubject = "subject"
	// CheckPredicateType: an attestation's predicate type is the one
	// required.
	CheckPredicateType = "predicate-type"
	// CheckProvenance: a provenance predicate agrees with the Fulcio
	// extensions of the certificate that signed it (source repository,
	// ref and commit, workflow, event, ids, runner environment, builder,
	// run) and with the policy's GitHub presets (repository, workflow,
	// ref, runner environment).
	CheckProvenance = "provenance"
)

// Report is the outcome of one verification run.
type Report struct {
	// Verified is true when every artifact passed.
	Verified bool `json:"verified"`
	// Policy is the identity that was required.
	Policy artifact.Requirement `json:"policy"`
	// Format is the signature format that was required of images.
	Format artifact.Format `json:"format,omitempty"`
	// Artifacts are the artifacts checked, in the order given (an index's
	// platform manifests follow the index).
	Artifacts []Artifact `json:"artifacts"`
}

// Artifact is the outcome for one image manifest or file.
type Artifact struct {
	// Kind is "image" or "file".
	Kind string `json:"kind"`
	// Target is the image manifest, or for a file its path (Reference)
	// and SHA-256 digest.
	artifact.Target
	// Bundle is the bundle file read for a file.
	Bundle string `json:"bundle,omitempty"`
	// Passed is true when at least one signature passed every check.
	Passed bool `json:"passed"`
	// Error says why the artifact could not be checked, or that it has no
	// signature.
	Error string `json:"error,omitempty"`
	// Signatures are the signatures found.
	Signatures []Signature `json:"signatures,omitempty"`
	// Attestations are the attestations required (WithAttestations), one
	// entry each.
	Attestations []Attestation `json:"attestations,omitempty"`
	// Provenance summarizes the artifact's passing provenance, if one was
	// required.
	Provenance *provenance.Summary `json:"provenance,omitempty"`
}

// Attestation is the outcome for one required attestation of an artifact.
type Attestation struct {
	// PredicateType is the predicate type required.
	PredicateType string `json:"predicateType"`
	// Passed is true when one attestation of that type passed every check.
	Passed bool `json:"passed"`
	// Error says why none could: none was found, or none of that type.
	Error string `json:"error,omitempty"`
	// Found are the attestations of that type, each checked (every
	// attestation found, when none is of that type).
	Found []Signature `json:"found,omitempty"`
	// Provenance summarizes the passing provenance.
	Provenance *provenance.Summary `json:"provenance,omitempty"`
}

// Signature is the outcome for one signature of an artifact.
type Signature struct {
	// Format is artifact.FormatBundle or artifact.FormatLegacy.
	Format artifact.Format `json:"format"`
	// Location is where the signature was read: the referrer manifest
	// (repository@digest), the legacy tag and layer, or the bundle file.
	Location string `json:"location"`
	// Passed is true when every check passed.
	Passed bool `json:"passed"`
	// Checks are the checks made, in order.
	Checks []Check `json:"checks"`
	// Identity is the certificate subject found.
	Identity string `json:"identity,omitempty"`
	// Issuer is the certificate's OIDC issuer found.
	Issuer string `json:"issuer,omitempty"`
	// Certificate holds more of the certificate's identity.
	Certificate *artifact.Identity `json:"certificate,omitempty"`
	// Key is the fingerprint of the public key a key-signed signature
	// verified with (see artifact.Requirement.PublicKey).
	Key string `json:"key,omitempty"`
	// BundleJSON is a bundle signature's bundle, as read (not reported;
	// kept only WithBundleBytes).
	BundleJSON []byte `json:"-"`
	// Log is the transparency log entry the signature carries.
	Log *artifact.LogEntry `json:"log,omitempty"`
	// TimestampSource names where the trusted time came from:
	// "transparency-log", "timestamp-authority", both, or empty.
	TimestampSource string `json:"timestampSource,omitempty"`
	// Timestamps are the verified times.
	Timestamps []Timestamp `json:"timestamps,omitempty"`

	// provenance is a provenance attestation's summary, once read.
	provenance *provenance.Summary
}

// Check is one check of one signature.
type Check struct {
	// Name is one of the Check* constants.
	Name string `json:"name"`
	// Passed is the outcome.
	Passed bool `json:"passed"`
	// Reason says what was checked and found.
	Reason string `json:"reason"`
}

// Timestamp is one verified time.
type Timestamp struct {
	// Source is "transparency-log" or "timestamp-authority".
	Source string `json:"source"`
	// URI names the log or authority.
	URI string `json:"uri,omitempty"`
	// Time is the time vouched for.
	Time time.Time `json:"time"`
}

// Timestamp sources.
const (
	SourceTransparencyLog    = "transparency-log"
	SourceTimestampAuthority = "timestamp-authority"
)

// Failed returns the first failed check, if any.
func (s Signature) Failed() (Check, bool) {
	for _, c := range s.Checks {
		if !c.Passed {
			return c, true
		}
	}
	return Check{}, false
}

// Error is returned by VerifyImages and VerifyFiles when an artifact did not
// pass. The Report returned beside it holds the details.
type Error struct {
	// Failed are the artifacts that did not pass.
	Failed []Artifact
}

var _ error = (*Error)(nil)

func (e *Error) Error() string {
	var b strings.Builder
	if len(e.Failed) == 1 {
		b.WriteString("verification failed for 1 artifact:")
	} else {
		fmt.Fprintf(&b, "verification failed for %d artifacts:", len(e.Failed))
	}
	for _, a := range e.Failed {
		var f strings.Builder
		writeFailure(&f, a)
		fmt.Fprintf(&b, "\n  %s: %s", a.name(), strings.TrimSuffix(f.String(), "\n"))
	}
	return b.String()
}

// writeFailure writes why one artifact failed: its error, or for each
// signature the checks it failed.
func writeFailure(w io.Writer, a Artifact) {
	switch {
	case a.Error != "":
		fmt.Fprintf(w, "%s\n", a.Error)
	case len(a.Attestations) > 0:
		var missing []string
		for _, at := range a.Attestations {
			if !at.Passed {
				missing = append(missing, at.PredicateType)
			}
		}
		fmt.Fprintf(w, "no attestation of %s passed every check\n", strings.Join(missing, ", "))
	default:
		fmt.Fprintf(w, "none of its %d signature(s) passed every check\n", len(a.Signatures))
	}
	if len(a.Attestations) == 0 {
		writeFailedChecks(w, "", a.Signatures)
	}
	for _, at := range a.Attestations {
		if at.Passed {
			continue
		}
		if at.Error != "" {
			fmt.Fprintf(w, "    attestation %s: %s\n", at.PredicateType, at.Error)
		}
		writeFailedChecks(w, at.PredicateType+" attestation", at.Found)
	}
}

// writeFailedChecks writes the failed checks of each signature, named
// what (a format's signature by default).
func writeFailedChecks(w io.Writer, what string, sigs []Signature) {
	for _, s := range sigs {
		if what == "" {
			fmt.Fprintf(w, "    %s signature %s:\n", s.Format, s.Location)
		} else {
			fmt.Fprintf(w, "    %s %s %s:\n", s.Format, what, s.Location)
		}
		for _, c := range s.Checks {
			if !c.Passed {
				fmt.Fprintf(w, "      %s failed: %s\n", c.Name, c.Reason)
			}
		}
	}
}

func (a Artifact) name() string {
	n := a.Reference
	if a.Digest != "" && !strings.HasSuffix(n, a.Digest) {
		n += " (" + a.Digest + ")"
	}
	if a.Platform != "" {
		n += " [" + a.Platform + "]"
	}
	return n
}

// Text renders the report for a terminal, in the manner of cosign verify:
// for each artifact that passed, the checks made on its signatures and the
// identity found; for each that failed, the checks that failed, with what
// was expected and what was found.
func (r *Report) Text() string {
	var b strings.Builder
	r.WriteText(&b)
	return b.String()
}

// WriteText writes Text to w.
func (r *Report) WriteText(w io.Writer) {
	for i, a := range r.Artifacts {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if !a.Passed {
			fmt.Fprintf(w, "Verification FAILED for %s: ", a.name())
			writeFailure(w, a)
			continue
		}
		fmt.Fprintf(w, "Verification for %s --\n", a.name())
		fmt.Fprintln(w, "The following checks were performed on each of these signatures:")
		if a.Kind == "file" {
			fmt.Fprintln(w, "  - The signed digest was validated against the file")
		} else {
			fmt.Fprintln(w, "  - The cosign claims were validated")
		}
		fmt.Fprintln(w, "  - Existence of the claims in the transparency log was verified offline")
		if r.Policy.PublicKey != "" {
			fmt.Fprintf(w, "  - The signatures were verified against the specified public key %s\n", r.Policy.PublicKey)
		} else {
			fmt.Fprintln(w, "  - The code-signing certificate was verified using trusted certificate authority certificates")
			fmt.Fprintf(w, "  - The identity matched the policy: %s\n", r.Policy)
		}
		for _, s := range a.Signatures {
			if !s.Passed {
				continue
			}
			fmt.Fprintf(w, "  %s signature %s\n", s.Format, s.Location)
			if s.Key != "" {
				fmt.Fprintf(w, "    public key %s\n", s.Key)
			} else {
				fmt.Fprintf(w, "    identity %s (issuer %s)\n", s.Identity, s.Issuer)
			}
			if s.Log != nil {
				fmt.Fprintf(w, "    %s\n", s.Log)
			}
			for _, t := range s.Timestamps {
				fmt.Fprintf(w, "    signed at %s (%s %s)\n", t.Time.UTC().Format(time.RFC3339), t.Source, t.URI)
			}
		}
		if n := len(a.Signatures) - a.passedCount(); n > 0 {
			fmt.Fprintf(w, "  (%d other signature(s) did not pass; see the JSON report)\n", n)
		}
		for _, at := range a.Attestations {
			for _, s := range at.Found {
				if s.Passed {
					fmt.Fprintf(w, "  %s attestation %s (%s), subject, predicate type, signature, log, certificate and identity verified\n", at.PredicateType, s.Location, s.Format)
					break
				}
			}
		}
		if p := a.Provenance; p != nil {
			fmt.Fprintf(w, "  provenance: source %s at commit %s (%s)\n", p.SourceRepository, p.Commit, p.Ref)
			fmt.Fprintf(w, "    built by workflow %s, run %s", p.Workflow, p.Run)
			if p.RunnerEnvironment != "" {
				fmt.Fprintf(w, " on a %s runner", p.RunnerEnvironment)
			}
			fmt.Fprintln(w)
		}
	}
	if len(r.Artifacts) == 0 {
		fmt.Fprintln(w, "Nothing to verify.")
	}
}

func (a Artifact) passedCount() int {
	n := 0
	for _, s := range a.Signatures {
		if s.Passed {
			n++
		}
	}
	return n
}
