package tbenv

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Claims are overrides of the stand-in's token claims, sent as query
// parameters of the token URL: any claim name (repository, ref, sha,
// event_name, run_id, repository_visibility, runner_environment, ...) plus
// workflow_path, the workflow file, and lifetime, a Go duration. See package
// internal/testbed/ghruntime for the defaults.
type Claims = url.Values

// TokenURLWith returns the token URL with claims appended, for a test to set as
// ACTIONS_ID_TOKEN_REQUEST_URL; the client then appends &audience=....
func (e *Env) TokenURLWith(claims Claims) string {
	if len(claims) == 0 {
		return e.TokenURL
	}
	return e.TokenURL + "&" + claims.Encode()
}

// ActionsEnv returns the two variables through which GitHub hands a job its
// token endpoint, pointing at the stand-in with claims.
func (e *Env) ActionsEnv(claims Claims) []string {
	return []string{
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + e.TokenURLWith(claims),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + e.Token,
	}
}

// IDToken requests a token for audience (usually "sigstore") with claims,
// as a GitHub job would.
func (e *Env) IDToken(t testing.TB, audience string, claims Claims) string {
	t.Helper()
	u := e.TokenURLWith(claims) + "&audience=" + url.QueryEscape(audience)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.Token)
	var resp struct{ Value string }
	if err := getJSON(req, &resp); err != nil || resp.Value == "" {
		t.Fatalf("tbenv: requesting a token: %v", err)
	}
	return resp.Value
}

// TokensMinted reports how many tokens the stand-in minted for runID, or in
// total for "" (which other test packages running at once also raise).
func (e *Env) TokensMinted(t testing.TB, runID string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.StatsURL+"?run_id="+url.QueryEscape(runID), nil)
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Tokens int }
	if err := getJSON(req, &st); err != nil {
		t.Fatalf("tbenv: reading the stand-in's stats: %v", err)
	}
	return st.Tokens
}

// CertificatesIssued reports how many certificates Fulcio has issued since
// it started (its fulcio_new_certs metric). Other test packages running at
// once raise it too: compare before and after, and expect at least.
func (e *Env) CertificatesIssued(t testing.TB) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.FulcioMetricsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("tbenv: reading Fulcio's metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "fulcio_new_certs "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("tbenv: fulcio_new_certs %q: %v", v, err)
			}
			return int(n)
		}
	}
	// Fulcio reports the counter only once it has issued a certificate.
	return 0
}

// UniqueRunID returns a random run id, for the run_id claim of one test's
// tokens, so TokensMinted counts that test's tokens alone.
func UniqueRunID(t testing.TB) string {
	n, err := rand.Int(rand.Reader, big.NewInt(1e12))
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(2e12+n.Int64(), 10)
}

// Identity is the certificate identity (SAN URI) Fulcio gives a workflow:
// the job_workflow_ref as a GitHub URL.
func Identity(repository, workflowPath, ref string) string {
	return "https://github.com/" + repository + "/" + workflowPath + "@" + ref
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func getJSON(req *http.Request, v any) error {
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", req.URL.Path, resp.Status, b)
	}
	return json.Unmarshal(b, v)
}
