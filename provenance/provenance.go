package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// PredicateType is the in-toto predicate type of SLSA v1 provenance (cosign
// calls it slsaprovenance1).
const PredicateType = "https://slsa.dev/provenance/v1"

// BuildType is GitHub's build type for a workflow run.
const BuildType = "https://actions.github.io/buildtypes/workflow/v1"

// DefaultServerURL is the GitHub server New assumes when given none (the
// runner's GITHUB_SERVER_URL is empty).
const DefaultServerURL = "https://github.com"

// Claims are the claims of a GitHub Actions OIDC token that the predicate
// is built from, as GitHub names them.
type Claims struct {
	// Issuer is the token's issuer (iss).
	Issuer string `json:"iss"`
	// Repository is OWNER/NAME.
	Repository string `json:"repository"`
	// RepositoryID and RepositoryOwnerID are GitHub's numeric ids, as
	// strings.
	RepositoryID      string `json:"repository_id"`
	RepositoryOwnerID string `json:"repository_owner_id"`
	// Ref is the git ref the workflow ran for, e.g. refs/tags/v1.2.3.
	Ref string `json:"ref"`
	// SHA is the commit the workflow ran at.
	SHA string `json:"sha"`
	// EventName is the event that triggered the run, e.g. push.
	EventName string `json:"event_name"`
	// WorkflowRef is OWNER/NAME/PATH@REF of the run's workflow.
	WorkflowRef string `json:"workflow_ref"`
	// JobWorkflowRef is OWNER/NAME/PATH@REF of the workflow the job ran
	// (a reusable workflow's when the job calls one).
	JobWorkflowRef string `json:"job_workflow_ref"`
	// RunnerEnvironment is github-hosted or self-hosted.
	RunnerEnvironment string `json:"runner_environment"`
	// RunID and RunAttempt name the run.
	RunID      string `json:"run_id"`
	RunAttempt string `json:"run_attempt"`
}

// required are the claims New needs, in the order @actions/attest checks
// them.
func (c Claims) required() [][2]string {
	return [][2]string{
		{"iss", c.Issuer}, {"ref", c.Ref}, {"sha", c.SHA}, {"repository", c.Repository},
		{"event_name", c.EventName}, {"job_workflow_ref", c.JobWorkflowRef}, {"workflow_ref", c.WorkflowRef},
		{"repository_id", c.RepositoryID}, {"repository_owner_id", c.RepositoryOwnerID},
		{"runner_environment", c.RunnerEnvironment}, {"run_id", c.RunID}, {"run_attempt", c.RunAttempt},
	}
}

// Check returns an error naming every required claim that is missing.
func (c Claims) Check() error {
	var missing []string
	for _, kv := range c.required() {
		if kv[1] == "" {
			missing = append(missing, kv[0])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the OIDC token lacks the claims %s that build provenance is made from: provenance needs a GitHub Actions token (permissions: id-token: write)", strings.Join(missing, ", "))
	}
	return nil
}

// tokenAlgorithms are the signature algorithms a token may name; the
// signature itself is not checked here (see ClaimsFromToken).
var tokenAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA}

// ClaimsFromToken reads the claims of a GitHub Actions OIDC token (a JWT)
// without verifying its signature: the token is the one traded at Fulcio,
// which verifies it and certifies the same claims in the signing
// certificate, so a predicate built from forged claims cannot be signed. It
// checks that every claim New needs is present.
func ClaimsFromToken(token string) (Claims, error) {
	var c Claims
	t, err := jwt.ParseSigned(token, tokenAlgorithms)
	if err != nil {
		return c, fmt.Errorf("reading the OIDC token's claims: %w", err)
	}
	if err := t.UnsafeClaimsWithoutVerification(&c); err != nil {
		return c, fmt.Errorf("reading the OIDC token's claims: %w", err)
	}
	return c, c.Check()
}

// Predicate is an SLSA v1 provenance predicate in GitHub's build type.
type Predicate struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition says what was built, how and from what.
type BuildDefinition struct {
	// BuildType is BuildType.
	BuildType          string             `json:"buildType"`
	ExternalParameters ExternalParameters `json:"externalParameters"`
	InternalParameters InternalParameters `json:"internalParameters"`
	// ResolvedDependencies holds the source: its git URL at the ref, and
	// the commit.
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies"`
}

// ExternalParameters are the parameters a user controls: the workflow.
type ExternalParameters struct {
	Workflow Workflow `json:"workflow"`
}

// Workflow names the workflow that ran.
type Workflow struct {
	// Ref is the git ref the workflow ran for.
	Ref string `json:"ref"`
	// Repository is the repository's URL, SERVER/OWNER/NAME.
	Repository string `json:"repository"`
	// Path is the workflow file's path in the repository.
	Path string `json:"path"`
}

// InternalParameters are the parameters GitHub sets.
type InternalParameters struct {
	GitHub GitHubParameters `json:"github"`
}

// GitHubParameters are the run's GitHub context, as the token's claims.
type GitHubParameters struct {
	EventName         string `json:"event_name"`
	RepositoryID      string `json:"repository_id"`
	RepositoryOwnerID string `json:"repository_owner_id"`
	RunnerEnvironment string `json:"runner_environment"`
}

// ResourceDescriptor is an in-toto resource: a URI and its digests.
type ResourceDescriptor struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

// RunDetails say who built it and which run.
type RunDetails struct {
	Builder  Builder  `json:"builder"`
	Metadata Metadata `json:"metadata"`
}

// Builder is the builder's identity.
type Builder struct {
	// ID is SERVER/job_workflow_ref.
	ID string `json:"id"`
}

// Metadata is the run.
type Metadata struct {
	// InvocationID is SERVER/OWNER/NAME/actions/runs/RUN_ID/attempts/RUN_ATTEMPT.
	InvocationID string `json:"invocationId"`
}

// New builds the provenance predicate of a workflow run from its token's
// claims and the GitHub server URL (GITHUB_SERVER_URL; DefaultServerURL when
// empty), as @actions/attest 3.2.0's buildSLSAProvenancePredicate does.
func New(c Claims, serverURL string) (*Predicate, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if serverURL == "" {
		serverURL = DefaultServerURL
	}
	if u, err := url.Parse(serverURL); err != nil || u.Scheme != "https" || u.Host == "" || strings.HasSuffix(serverURL, "/") {
		return nil, fmt.Errorf("GitHub server URL %q: want https://HOST without a trailing '/', as GITHUB_SERVER_URL gives it", serverURL)
	}
	// OWNER/NAME/.github/workflows/release.yml@refs/tags/v1 ->
	// .github/workflows/release.yml (the first "OWNER/NAME/" is removed,
	// and the path ends at the first '@', as @actions/attest cuts it).
	path, _, _ := strings.Cut(strings.Replace(c.WorkflowRef, c.Repository+"/", "", 1), "@")
	repo := serverURL + "/" + c.Repository
	return &Predicate{
		BuildDefinition: BuildDefinition{
			BuildType:          BuildType,
			ExternalParameters: ExternalParameters{Workflow: Workflow{Ref: c.Ref, Repository: repo, Path: path}},
			InternalParameters: InternalParameters{GitHub: GitHubParameters{
				EventName: c.EventName, RepositoryID: c.RepositoryID, RepositoryOwnerID: c.RepositoryOwnerID, RunnerEnvironment: c.RunnerEnvironment,
			}},
			ResolvedDependencies: []ResourceDescriptor{{URI: "git+" + repo + "@" + c.Ref, Digest: map[string]string{"gitCommit": c.SHA}}},
		},
		RunDetails: RunDetails{
			Builder:  Builder{ID: serverURL + "/" + c.JobWorkflowRef},
			Metadata: Metadata{InvocationID: repo + "/actions/runs/" + c.RunID + "/attempts/" + c.RunAttempt},
		},
	}, nil
}

// JSON is the predicate's JSON, as it goes into an in-toto statement.
func (p *Predicate) JSON() ([]byte, error) { return json.Marshal(p) }

// maxPredicateSize bounds what Parse reads: a GitHub provenance predicate
// is under 2 KB.
const maxPredicateSize = 1 << 20

// Parse reads a predicate in GitHub's build type. Unknown fields are
// allowed (other builders add some); a predicate of another build type, or
// one without its source, workflow or run, is an error.
func Parse(raw []byte) (*Predicate, error) {
	if len(raw) > maxPredicateSize {
		return nil, fmt.Errorf("the provenance predicate is %d bytes, more than %d", len(raw), maxPredicateSize)
	}
	var p Predicate
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("the provenance predicate is not SLSA v1 JSON: %w", err)
	}
	if p.BuildDefinition.BuildType != BuildType {
		return nil, fmt.Errorf("the provenance's build type is %q, not GitHub's workflow build type %s", p.BuildDefinition.BuildType, BuildType)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"externalParameters.workflow.repository", p.BuildDefinition.ExternalParameters.Workflow.Repository},
		{"externalParameters.workflow.path", p.BuildDefinition.ExternalParameters.Workflow.Path},
		{"externalParameters.workflow.ref", p.BuildDefinition.ExternalParameters.Workflow.Ref},
		{"runDetails.builder.id", p.RunDetails.Builder.ID},
		{"runDetails.metadata.invocationId", p.RunDetails.Metadata.InvocationID},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(p.BuildDefinition.ResolvedDependencies) == 0 || p.BuildDefinition.ResolvedDependencies[0].Digest["gitCommit"] == "" {
		missing = append(missing, "resolvedDependencies[0].digest.gitCommit")
	}
	if len(missing) > 0 {
		return nil, errors.New("the provenance lacks " + strings.Join(missing, ", "))
	}
	return &p, nil
}

// Summary is what a report shows of a provenance predicate.
type Summary struct {
	// SourceRepository is the repository's URL.
	SourceRepository string `json:"sourceRepository"`
	// Commit is the source commit (gitCommit).
	Commit string `json:"commit"`
	// Ref is the git ref the workflow ran for.
	Ref string `json:"ref"`
	// Workflow is the workflow file's path.
	Workflow string `json:"workflow"`
	// Run is the run's invocation id, its URL on GitHub.
	Run string `json:"run"`
	// Event is the event that triggered the run.
	Event string `json:"event,omitempty"`
	// RunnerEnvironment is github-hosted or self-hosted.
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
	// Builder is the builder id.
	Builder string `json:"builder"`
}

// Summary summarizes the predicate.
func (p *Predicate) Summary() Summary {
	s := Summary{
		SourceRepository:  p.BuildDefinition.ExternalParameters.Workflow.Repository,
		Ref:               p.BuildDefinition.ExternalParameters.Workflow.Ref,
		Workflow:          p.BuildDefinition.ExternalParameters.Workflow.Path,
		Run:               p.RunDetails.Metadata.InvocationID,
		Event:             p.BuildDefinition.InternalParameters.GitHub.EventName,
		RunnerEnvironment: p.BuildDefinition.InternalParameters.GitHub.RunnerEnvironment,
		Builder:           p.RunDetails.Builder.ID,
	}
	if len(p.BuildDefinition.ResolvedDependencies) > 0 {
		s.Commit = p.BuildDefinition.ResolvedDependencies[0].Digest["gitCommit"]
	}
	return s
}

// String renders the summary in one line.
func (s Summary) String() string {
	return fmt.Sprintf("source %s@%s (%s), workflow %s, run %s", s.SourceRepository, s.Commit, s.Ref, s.Workflow, s.Run)
}
