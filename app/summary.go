package app

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sigil-dev/sigil/attestation"
	"github.com/sigil-dev/sigil/provenance"
	"github.com/sigil-dev/sigil/sign"
)

// SignSummary renders the job summary of a signing run: what was signed,
// where each signature went, and the commands a consumer pastes to verify.
func SignSummary(s *Signed) string {
	r := s.Result
	var b strings.Builder
	b.WriteString("## sigil sign\n\n")
	fmt.Fprintf(&b, "Signed %d image manifest(s) and %d file(s) as `%s` (issuer `%s`).\n\n",
		len(r.Images), len(r.Files), mdCode(r.Identity.Subject), mdCode(r.Identity.Issuer))
	attested := hasAttestations(r)
	if len(r.Images) > 0 {
		if attested {
			b.WriteString("| Image | Platform | Digest | Formats | Attestations | Rekor log index |\n|---|---|---|---|---|---|\n")
		} else {
			b.WriteString("| Image | Platform | Digest | Formats | Rekor log index |\n|---|---|---|---|---|\n")
		}
		for _, img := range r.Images {
			var formats, atts, idx []string
			for _, sg := range img.Signatures {
				formats = append(formats, string(sg.Format)+state(sg))
				idx = append(idx, strconv.FormatInt(sg.Log.Index, 10))
			}
			for _, a := range img.Attestations {
				atts = append(atts, predicateName(a.PredicateType)+" "+string(a.Format)+state(a))
				idx = append(idx, strconv.FormatInt(a.Log.Index, 10))
			}
			platform := img.Platform
			if platform == "" {
				platform = "—"
			}
			fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |", mdCode(img.Repository), mdCell(platform), mdCode(img.Digest), strings.Join(formats, ", "))
			if attested {
				fmt.Fprintf(&b, " %s |", mdCell(orDash(strings.Join(atts, ", "))))
			}
			fmt.Fprintf(&b, " %s |\n", strings.Join(slices.Compact(idx), ", "))
		}
		b.WriteString("\n")
	}
	if len(r.Files) > 0 {
		b.WriteString("| File | SHA-256 | Bundle | Rekor log index |\n|---|---|---|---|\n")
		for _, f := range r.Files {
			fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %d |\n", mdCode(f.Path), f.SHA256, mdCode(f.Bundle), f.Log.Index)
		}
		b.WriteString("\n")
	}
	if len(r.FileAttestations) > 0 {
		b.WriteString("| File attestation | Files | Bundle | Rekor log index |\n|---|---|---|---|\n")
		for _, a := range r.FileAttestations {
			fmt.Fprintf(&b, "| %s | %d | `%s` | %d |\n", mdCell(predicateName(a.PredicateType)), len(a.Files), mdCode(a.Bundle), a.Log.Index)
		}
		b.WriteString("\n")
	}
	if cmds := verifyCommands(s); len(cmds) > 0 {
		b.WriteString("### Verify\n\n```sh\n")
		for _, c := range cmds {
			b.WriteString(c + "\n")
		}
		b.WriteString("```\n")
	}
	return b.String()
}

// state says what became of a signature, after its format.
func state(s sign.Signature) string {
	switch {
	case s.AlreadySigned:
		return " (already signed)"
	case s.Error != "":
		return " (❌ logged, not pushed)"
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// predicateName is the short name of a predicate type, as verify's
// attestations setting takes it.
func predicateName(t string) string {
	switch t {
	case provenance.PredicateType:
		return "provenance"
	case attestation.SPDXPredicateType:
		return "SPDX"
	case attestation.CycloneDXPredicateType:
		return "CycloneDX"
	}
	return t
}

func hasAttestations(r sign.Result) bool {
	for _, img := range r.Images {
		if len(img.Attestations) > 0 {
			return true
		}
	}
	return len(r.FileAttestations) > 0
}

// verifyCommands are the exact commands a consumer runs to verify what was
// signed: sigil verify for everything, and cosign for each top-level image
// and file.
func verifyCommands(s *Signed) []string {
	r := s.Result
	if r.Identity.Subject == "" {
		return nil
	}
	id := fmt.Sprintf("--certificate-identity %s --certificate-oidc-issuer %s", shellQuote(r.Identity.Subject), shellQuote(r.Identity.Issuer))
	trust := ""
	if s.TrustedRoot != "" {
		trust = " --trusted-root " + shellQuote(s.TrustedRoot)
	}
	var refs []string
	seen := map[string]bool{}
	for _, img := range r.Images {
		if img.Index != "" {
			continue // the index's own entry covers it
		}
		ref := img.Repository + "@" + img.Digest
		if !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
	}
	sort.Strings(refs)
	var cmds []string
	var args []string
	for _, ref := range refs {
		args = append(args, "--images "+shellQuote(ref))
	}
	for _, f := range r.Files {
		args = append(args, "--files "+shellQuote(f.Path))
	}
	prov := provenanceMade(r)
	if prov {
		args = append(args, "--attestations provenance")
	}
	cmds = append(cmds, "sigil verify "+strings.Join(args, " ")+" "+id+trust)
	for _, ref := range refs {
		cmds = append(cmds, "cosign verify "+id+trust+" "+shellQuote(ref))
		if prov {
			cmds = append(cmds, "cosign verify-attestation --type slsaprovenance1 "+id+trust+" "+shellQuote(ref))
		}
	}
	for _, f := range r.Files {
		cmds = append(cmds, "cosign verify-blob --bundle "+shellQuote(f.Bundle)+" "+id+trust+" "+shellQuote(f.Path))
	}
	for _, a := range r.FileAttestations {
		if a.PredicateType == provenance.PredicateType {
			for _, f := range a.Files {
				cmds = append(cmds, "cosign verify-blob-attestation --bundle "+shellQuote(a.Bundle)+" --type slsaprovenance1 "+id+trust+" "+shellQuote(f))
			}
		}
	}
	return cmds
}

// provenanceMade reports whether the run attested provenance.
func provenanceMade(r sign.Result) bool {
	for _, img := range r.Images {
		for _, a := range img.Attestations {
			if a.PredicateType == provenance.PredicateType {
				return true
			}
		}
	}
	for _, a := range r.FileAttestations {
		if a.PredicateType == provenance.PredicateType {
			return true
		}
	}
	return false
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// mdCode makes s safe inside a Markdown code span in a table cell.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "|", `\|`, "\n", " ").Replace(s)
}

// mdCell makes s safe in a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

// MergeSummary renders the job summary of merged sign runs: one section
// per signing identity.
func MergeSummary(m *Merged) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# sigil: %d signing run(s) merged\n\nConsumer policies: `%s`\n\n", len(m.Results), mdCode(m.PolicyDir))
	for _, id := range m.Identities {
		part := &Signed{Result: sign.Result{Identity: id}}
		for _, r := range m.Results {
			if r.Identity == id {
				part.Result.Images = append(part.Result.Images, r.Images...)
				part.Result.Files = append(part.Result.Files, r.Files...)
				part.Result.FileAttestations = append(part.Result.FileAttestations, r.FileAttestations...)
			}
		}
		b.WriteString(SignSummary(part))
		b.WriteString("\n")
	}
	return b.String()
}
