// Package e2e runs the built sigil binary exactly as GitHub runs a container
// action — INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files,
// GITHUB_* context, the OIDC token endpoint — against the test bed, and
// checks the results with the reference clients (cosign v2 and v3).
package e2e
