package provenance

import (
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// Mismatch is one field on which a predicate and the certificate that
// signed it disagree.
type Mismatch struct {
	// Field names the predicate's field.
	Field string
	// Predicate is the predicate's value.
	Predicate string
	// Certificate is what the certificate's extensions say it must be, and
	// Extension names the extension.
	Certificate, Extension string
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s is %q, but the certificate's %s says %q", m.Field, m.Predicate, m.Extension, m.Certificate)
}

// Compare checks the predicate against the Fulcio certificate extensions
// of the certificate that signed it, which Fulcio wrote from the same token
// claims the predicate is built from: the source repository, ref and
// commit, the workflow (its file at the ref), the event, the repository and
// owner ids, the runner environment, the builder and the run. It returns
// every field that disagrees; none for a predicate New built from the
// claims of the token the certificate was issued for.
//
// Fulcio writes https://github.com/ URLs; a predicate built with another
// server URL (GitHub Enterprise) disagrees on every URL.
func (p *Predicate) Compare(ext certificate.Extensions) []Mismatch {
	w := p.BuildDefinition.ExternalParameters.Workflow
	gh := p.BuildDefinition.InternalParameters.GitHub
	var source ResourceDescriptor
	if len(p.BuildDefinition.ResolvedDependencies) > 0 {
		source = p.BuildDefinition.ResolvedDependencies[0]
	}
	// The certificate's build config is SERVER/OWNER/NAME/PATH@REF, the
	// workflow_ref claim.
	workflow := w.Repository + "/" + w.Path + "@" + w.Ref
	checks := []Mismatch{
		{"buildDefinition.externalParameters.workflow.repository", w.Repository, ext.SourceRepositoryURI, "source repository URI (1.3.6.1.4.1.57264.1.12)"},
		{"buildDefinition.externalParameters.workflow.ref", w.Ref, ext.SourceRepositoryRef, "source repository ref (1.3.6.1.4.1.57264.1.14)"},
		{"buildDefinition.externalParameters.workflow (repository/path@ref)", workflow, ext.BuildConfigURI, "build config URI (1.3.6.1.4.1.57264.1.18)"},
		{"buildDefinition.resolvedDependencies[0].uri", source.URI, "git+" + ext.SourceRepositoryURI + "@" + ext.SourceRepositoryRef, "source repository URI and ref"},
		{"buildDefinition.resolvedDependencies[0].digest.gitCommit", source.Digest["gitCommit"], ext.SourceRepositoryDigest, "source repository digest (1.3.6.1.4.1.57264.1.13)"},
		{"buildDefinition.internalParameters.github.event_name", gh.EventName, ext.BuildTrigger, "build trigger (1.3.6.1.4.1.57264.1.20)"},
		{"buildDefinition.internalParameters.github.repository_id", gh.RepositoryID, ext.SourceRepositoryIdentifier, "source repository identifier (1.3.6.1.4.1.57264.1.15)"},
		{"buildDefinition.internalParameters.github.repository_owner_id", gh.RepositoryOwnerID, ext.SourceRepositoryOwnerIdentifier, "source repository owner identifier (1.3.6.1.4.1.57264.1.17)"},
		{"buildDefinition.internalParameters.github.runner_environment", gh.RunnerEnvironment, ext.RunnerEnvironment, "runner environment (1.3.6.1.4.1.57264.1.11)"},
		{"runDetails.builder.id", p.RunDetails.Builder.ID, ext.BuildSignerURI, "build signer URI (1.3.6.1.4.1.57264.1.9)"},
		{"runDetails.metadata.invocationId", p.RunDetails.Metadata.InvocationID, ext.RunInvocationURI, "run invocation URI (1.3.6.1.4.1.57264.1.21)"},
	}
	var out []Mismatch
	for _, m := range checks {
		if m.Predicate != m.Certificate {
			out = append(out, m)
		}
	}
	return out
}

// Describe renders mismatches as one sentence.
func Describe(ms []Mismatch) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, "; ")
}
