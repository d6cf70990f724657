// Package ghruntime is the test bed's stand-in for the two parts of the
// GitHub Actions runtime that keyless signing talks to: the endpoint behind
// ACTIONS_ID_TOKEN_REQUEST_URL and the OIDC issuer whose tokens it returns.
//
// The token endpoint answers GET requests that carry
// "Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>" with
// {"value":"<jwt>"}, as GitHub does. Like GitHub's, its URL already carries a
// query string (api-version=2.0) and clients append "&audience=...". A
// missing or wrong bearer token gets 401; a URL whose api-version is not
// exactly "2.0" gets 400, which catches clients that append "?audience=" and
// so corrupt the query string.
//
// Tokens are RS256 JWTs carrying every claim GitHub puts in an Actions token
// (see [DefaultClaims]); Fulcio's github-workflow issuer type requires most of
// them. Each claim can be overridden per request with a query parameter of
// the same name, so tests can sign as different workflows; derived claims
// (repository_owner, workflow_ref, job_workflow_ref, workflow_sha,
// job_workflow_sha, ref_type, sub) follow the overridden ones unless they are
// overridden themselves. The extra parameter workflow_path names the
// workflow file (the "workflow" claim is the workflow's display name, as on
// GitHub), and lifetime (a Go duration) sets exp relative to iat. Unknown
// parameters are refused with 400, so typos do not go unnoticed.
//
// The issuer serves /.well-known/openid-configuration and its JWKS at
// /.well-known/jwks. GET /stats reports how many tokens were minted, in
// total or, with ?run_id=X, for one run id: tests give each run its own
// run_id and assert how many tokens it requested.
package ghruntime
