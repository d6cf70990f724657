package ghruntime

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// defaults are the claims of a token requested without overrides, before
// the derived claims are computed.
var defaults = map[string]string{
	"actor":                 "sigil-bot",
	"actor_id":              "41898282",
	"base_ref":              "",
	"event_name":            "push",
	"head_ref":              "",
	"ref":                   "refs/tags/v1.0.0",
	"ref_protected":         "true",
	"repository":            "sigil-dev/demo",
	"repository_id":         "700000001",
	"repository_owner_id":   "700000000",
	"repository_visibility": "public",
	"run_attempt":           "1",
	"run_id":                "9000000001",
	"run_number":            "1",
	"runner_environment":    "github-hosted",
	"sha":                   "5e8a1c3f7d2b4a6e9c0f1b3d5a7e9c2f4b6d8a0e",
	"workflow":              "Release",
}

// DefaultClaims returns the claims of a token requested without overrides,
// before the derived claims are computed: a release workflow of
// sigil-dev/demo run on a tag push, on a GitHub-hosted runner. The "workflow"
// claim is the display name; the file is DefaultWorkflowPath.
func DefaultClaims() map[string]string { return maps.Clone(defaults) }

// DefaultWorkflowPath is the workflow file of a token requested without the
// workflow_path parameter.
const DefaultWorkflowPath = ".github/workflows/release.yml"

// DefaultLifetime is how long after iat a token expires unless the request
// sets lifetime. GitHub's tokens live five minutes.
const DefaultLifetime = 5 * time.Minute

// notBeforeSkew is how long before iat a token becomes valid: GitHub's
// tokens carry an nbf ten minutes before iat.
const notBeforeSkew = 10 * time.Minute

// derived are the claims computed from others; a request may still set them.
var derived = []string{
	"job_workflow_ref",
	"job_workflow_sha",
	"ref_type",
	"repository_owner",
	"sub",
	"workflow_ref",
	"workflow_sha",
}

// control are the query parameters that are not claims.
var control = []string{"api-version", "audience", "lifetime", "workflow_path"}

// Parameters lists every query parameter the token endpoint accepts, sorted.
func Parameters() []string {
	p := slices.Collect(maps.Keys(defaults))
	p = append(p, derived...)
	p = append(p, "environment")
	p = append(p, control...)
	slices.Sort(p)
	return p
}

// request is a token request's claims before signing.
type request struct {
	claims   map[string]string
	audience string
	lifetime time.Duration
}

// parseRequest turns a token request's query into claims, applying the defaults,
// then the overrides, then the derived claims not overridden.
func parseRequest(q url.Values) (request, error) {
	known := Parameters()
	for k, v := range q {
		if _, ok := slices.BinarySearch(known, k); !ok {
			return request{}, fmt.Errorf("unknown parameter %q; the token endpoint accepts %s", k, strings.Join(known, ", "))
		}
		if len(v) != 1 {
			return request{}, fmt.Errorf("parameter %q given %d times; give it once", k, len(v))
		}
	}
	if v := q.Get("api-version"); v != "2.0" {
		return request{}, fmt.Errorf("api-version is %q, want \"2.0\": append parameters to the token URL with '&', it already has a query string", v)
	}

	c := maps.Clone(defaults)
	for k := range defaults {
		if q.Has(k) {
			c[k] = q.Get(k)
		}
	}
	if q.Get("environment") != "" {
		c["environment"] = q.Get("environment")
	}
	owner, name, ok := strings.Cut(c["repository"], "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return request{}, fmt.Errorf("repository %q is not OWNER/NAME", c["repository"])
	}
	path := DefaultWorkflowPath
	if q.Has("workflow_path") {
		path = q.Get("workflow_path")
	}
	if path == "" || strings.Contains(path, "@") {
		return request{}, fmt.Errorf("workflow_path %q must be a non-empty file path without '@'", path)
	}

	c["repository_owner"] = owner
	c["ref_type"] = "branch"
	if strings.HasPrefix(c["ref"], "refs/tags/") {
		c["ref_type"] = "tag"
	}
	c["workflow_ref"] = c["repository"] + "/" + path + "@" + c["ref"]
	c["job_workflow_ref"] = c["workflow_ref"]
	c["workflow_sha"] = c["sha"]
	c["job_workflow_sha"] = c["sha"]
	switch {
	case c["environment"] != "":
		c["sub"] = "repo:" + c["repository"] + ":environment:" + c["environment"]
	case c["event_name"] == "pull_request" || c["event_name"] == "pull_request_target":
		c["sub"] = "repo:" + c["repository"] + ":pull_request"
	default:
		c["sub"] = "repo:" + c["repository"] + ":ref:" + c["ref"]
	}
	for _, k := range derived {
		if q.Has(k) {
			c[k] = q.Get(k)
		}
	}

	r := request{claims: c, audience: q.Get("audience"), lifetime: DefaultLifetime}
	if r.audience == "" {
		// GitHub's default audience is the owner's URL.
		r.audience = "https://github.com/" + owner
	}
	if q.Has("lifetime") {
		d, err := time.ParseDuration(q.Get("lifetime"))
		if err != nil {
			return request{}, fmt.Errorf("lifetime %q is not a Go duration such as 5m or -1m: %w", q.Get("lifetime"), err)
		}
		r.lifetime = d
	}
	return r, nil
}
