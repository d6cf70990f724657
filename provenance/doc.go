// Package provenance holds SLSA v1 build provenance in GitHub's build type
// (https://actions.github.io/buildtypes/workflow/v1): the predicate a
// release workflow attests for what it built, as GitHub's own
// actions/attest-build-provenance writes it.
//
// New builds the predicate from the claims of the workflow's GitHub Actions
// OIDC token (ClaimsFromToken reads them) and the server URL of the runner
// (GITHUB_SERVER_URL), field for field as buildSLSAProvenancePredicate of the
// npm package @actions/attest 3.2.0 does:
//
//   - buildDefinition.buildType: BuildType;
//   - buildDefinition.externalParameters.workflow: the ref the workflow ran
//     for, the repository's URL, and the workflow file's path (workflow_ref
//     without "OWNER/NAME/" and "@REF");
//   - buildDefinition.internalParameters.github: event_name, repository_id,
//     repository_owner_id and runner_environment;
//   - buildDefinition.resolvedDependencies: one, the source,
//     git+SERVER/OWNER/NAME@REF with its commit (sha) as gitCommit;
//   - runDetails.builder.id: SERVER/job_workflow_ref, the workflow file
//     that ran, at its ref (the same for GitHub-hosted and self-hosted
//     runners: the runner environment is an internal parameter);
//   - runDetails.metadata.invocationId:
//     SERVER/OWNER/NAME/actions/runs/RUN_ID/attempts/RUN_ATTEMPT.
//
// @actions/attest takes the claims from a token it requests itself
// (audience "nobody") and verifies against the issuer's keys, and reads only
// GITHUB_SERVER_URL from the environment; the claims are the same in every
// token a job gets, whatever the audience. sigil builds the predicate from
// the token it trades at Fulcio: Fulcio verifies that token and writes the
// same claims into the certificate's extensions, so a verifier can check the
// predicate against the certificate that signed it (Predicate.Compare).
//
// Parse reads a predicate back, and Summary names what a report shows of
// it: the source repository, commit, workflow and run.
package provenance
