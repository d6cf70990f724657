// Package tbenv gives tests the running test bed (testbed/up.sh, `make
// testbed`): where its services listen, its credentials and trust files, and
// helpers to push images to its registries and to get tokens from its GitHub
// runtime stand-in.
//
// A test calls Load first. Without a bed the test is skipped, with a message
// saying to run `make testbed`, unless SIGIL_TESTBED=required (as `make test`
// and CI set it): then it fails, so CI never skips silently.
//
// The bed is shared by every test package that runs at once, so tests make
// their own names: UniqueRepo for repositories, UniqueRunID for the run_id
// claim by which the stand-in counts tokens.
package tbenv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// Env is a running test bed, as its env file describes it. Field tags name
// the env file's keys.
type Env struct {
	// Dir is the bed's directory (SIGIL_TB_DIR).
	Dir string `env:"SIGIL_TB_DIR"`

	// TokenURL is the stand-in's ACTIONS_ID_TOKEN_REQUEST_URL; like
	// GitHub's it already carries a query string.
	TokenURL string `env:"SIGIL_TB_TOKEN_URL"`
	// Token is ACTIONS_ID_TOKEN_REQUEST_TOKEN, the bearer TokenURL requires.
	Token string `env:"SIGIL_TB_TOKEN"`
	// Issuer is the stand-in's OIDC issuer URL, the certificates'
	// issuer.
	Issuer string `env:"SIGIL_TB_ISSUER"`
	// StatsURL reports the tokens minted, see TokensMinted.
	StatsURL string `env:"SIGIL_TB_STATS_URL"`

	FulcioURL string `env:"SIGIL_TB_FULCIO_URL"`
	// FulcioMetricsURL is Fulcio's Prometheus endpoint, see
	// CertificatesIssued.
	FulcioMetricsURL string `env:"SIGIL_TB_FULCIO_METRICS_URL"`
	// FulcioRoot is a PEM file with Fulcio's root, new at each start.
	FulcioRoot string `env:"SIGIL_TB_FULCIO_ROOT"`

	// RekorURL is Rekor v1.
	RekorURL string `env:"SIGIL_TB_REKOR_URL"`
	// RekorPubKey is a PEM file with Rekor v1's key, stable across starts.
	RekorPubKey string `env:"SIGIL_TB_REKOR_PUBKEY"`
	// RekorV2URL is Rekor v2 (rekor-tiles); its checkpoint origin is
	// 127.0.0.1.
	RekorV2URL string `env:"SIGIL_TB_REKOR_V2_URL"`
	// RekorV2PubKey is a PEM file with Rekor v2's ed25519 key.
	RekorV2PubKey string `env:"SIGIL_TB_REKOR_V2_PUBKEY"`

	// TSAURL is the timestamp authority's base URL; timestamps are
	// requested at TSAURL + "/api/v1/timestamp".
	TSAURL string `env:"SIGIL_TB_TSA_URL"`
	// TSAChain is a PEM file with the TSA's chain, new at each start.
	TSAChain string `env:"SIGIL_TB_TSA_CHAIN"`

	// CTLogURL is the certificate transparency log Fulcio sends each
	// certificate to, with its prefix (its API is under
	// CTLogURL + "/ct/v1/"); Fulcio's certificates embed its SCT.
	CTLogURL string `env:"SIGIL_TB_CTLOG_URL"`
	// CTLogPubKey is a PEM file with the CT log's ECDSA P-256 key, stable
	// across starts.
	CTLogPubKey string `env:"SIGIL_TB_CTLOG_PUBKEY"`

	// GHCR stands for ghcr.io: bearer tokens from /token on its own host,
	// anonymous pulls of public repositories, no referrers API (404).
	GHCR Registry `env:"SIGIL_TB_GHCR"`
	// GHCRRedirect is GHCR whose referrers endpoint answers a 303 to an
	// HTML page on another host, as ghcr.io has been seen to.
	GHCRRedirect Registry `env:"SIGIL_TB_GHCR_REDIRECT"`
	// DockerHub stands for docker.io: bearer tokens from the token service
	// at DockerHubAuth, anonymous pulls of public repositories, and the
	// referrers API, as Docker Hub serves today.
	DockerHub Registry `env:"SIGIL_TB_DOCKERHUB"`
	// DockerHubNoReferrers is DockerHub's auth in front of the
	// distribution registry, which has no referrers API.
	DockerHubNoReferrers Registry `env:"SIGIL_TB_DOCKERHUB_NO_REFERRERS"`
	// DockerHubAuth is Docker Hub's token service stand-in (the realm,
	// http://localhost:PORT/token), auth.docker.io's counterpart.
	DockerHubAuth string `env:"SIGIL_TB_DOCKERHUB_AUTH"`
	// PublicNamespace is the first path component of the repositories
	// anyone may pull; every other repository is private (see PublicRepo).
	PublicNamespace string `env:"SIGIL_TB_PUBLIC_NAMESPACE"`

	// TrustedRoot is trusted_root.json covering Fulcio, both Rekors, the
	// TSA and the CT log.
	TrustedRoot string `env:"SIGIL_TB_TRUSTED_ROOT"`
	// SigningConfig names Fulcio and Rekor v1.
	SigningConfig string `env:"SIGIL_TB_SIGNING_CONFIG"`
	// SigningConfigV2 names Fulcio, Rekor v2 and the TSA.
	SigningConfigV2 string `env:"SIGIL_TB_SIGNING_CONFIG_V2"`

	// TUFURL is the bed's TUF repository, laid out and signed as the
	// public one (consistent snapshots, ECDSA P-256 keys): its targets are
	// trusted_root.json (the TrustedRoot file), signing_config.v0.2.json
	// (Fulcio, Rekor v1, the TSA) and signing_config_rekor_v2.v0.2.json
	// (Fulcio, Rekor v2 then v1, the TSA), the shapes the public instance
	// distributes.
	TUFURL string `env:"SIGIL_TB_TUF_URL"`
	// TUFRoot is a file holding the repository's root.json, a client's
	// initial root; it stays the same across restarts of the bed.
	TUFRoot string `env:"SIGIL_TB_TUF_ROOT"`
	// TUFExpiredURL serves the repository with a timestamp that expired an
	// hour before the bed started; TUFBadSigURL with targets metadata
	// signed by a key the root does not name. Clients must refuse both.
	TUFExpiredURL string `env:"SIGIL_TB_TUF_EXPIRED_URL"`
	TUFBadSigURL  string `env:"SIGIL_TB_TUF_BADSIG_URL"`

	// Cosign2 and Cosign3 are the reference clients' binaries (v2.6.5,
	// v3.1.3). The bed runs neither: the env file names where `make test`
	// installs them (`testbed/install.sh tools`, into the bed's cache), so
	// they exist once that has run.
	Cosign2 string `env:"SIGIL_TB_COSIGN2"`
	Cosign3 string `env:"SIGIL_TB_COSIGN3"`
}

// Registry is one of the bed's registries.
type Registry struct {
	// Name is the env key in lower case without SIGIL_TB_: "ghcr",
	// "ghcr_redirect", "dockerhub", "dockerhub_no_referrers".
	Name string
	// Host is 127.0.0.1:PORT; it speaks plain HTTP.
	Host     string
	User     string
	Password string
}

// Load returns the running test bed, or skips or fails t when there is
// none (see the package documentation). The env file is the one named by
// SIGIL_TB_ENV, else $SIGIL_TB_DIR/env, else .testbed/env in the repository
// holding the working directory. A bed whose env file exists but which does
// not answer fails t.
func Load(t testing.TB) *Env {
	t.Helper()
	path, err := envPath()
	if err != nil {
		t.Fatalf("tbenv: %v", err)
	}
	e, err := loadOnce(path)
	if errors.Is(err, os.ErrNotExist) {
		if os.Getenv("SIGIL_TESTBED") == "required" {
			t.Fatalf("tbenv: SIGIL_TESTBED=required but there is no test bed (%s is missing): run `make testbed`", path)
		}
		t.Skipf("tbenv: no test bed (%s is missing): run `make testbed` to run this test", path)
	}
	if err != nil {
		t.Fatalf("tbenv: %v", err)
	}
	return e
}

var loaded sync.Map // path -> func() (*Env, error)

// loadOnce reads and checks each env file once per process.
func loadOnce(path string) (*Env, error) {
	f, _ := loaded.LoadOrStore(path, sync.OnceValues(func() (*Env, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		e, err := Parse(strings.NewReader(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w; run `make testbed` to write it again", path, err)
		}
		if err := e.ping(); err != nil {
			return nil, fmt.Errorf("the test bed in %s does not answer (%w): run `make testbed`, which restarts it", e.Dir, err)
		}
		return e, nil
	}))
	return f.(func() (*Env, error))()
}

func envPath() (string, error) {
	if p := os.Getenv("SIGIL_TB_ENV"); p != "" {
		return p, nil
	}
	if d := os.Getenv("SIGIL_TB_DIR"); d != "" {
		return filepath.Join(d, "env"), nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".testbed", "env"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: set SIGIL_TB_ENV to the bed's env file")
		}
		dir = parent
	}
}

// ping checks that the stand-in answers; the bed's services start and stop
// together.
func (e *Env) ping() error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(e.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the issuer answered %s", resp.Status)
	}
	return nil
}

// Parse reads an env file: KEY=value lines, values optionally in single or
// double quotes, '#' comments. Every key of Env must be present.
func Parse(r io.Reader) (*Env, error) {
	vals := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d is not KEY=value", n)
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vals[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	e := &Env{}
	var missing []string
	ev := reflect.ValueOf(e).Elem()
	for i := range ev.NumField() {
		key := ev.Type().Field(i).Tag.Get("env")
		switch f := ev.Field(i).Addr().Interface().(type) {
		case *string:
			*f = vals[key]
			if *f == "" {
				missing = append(missing, key)
			}
		case *Registry:
			name := strings.ToLower(strings.TrimPrefix(key, "SIGIL_TB_"))
			*f = Registry{Name: name, Host: vals[key], User: vals[key+"_USER"], Password: vals[key+"_PASSWORD"]}
			for _, k := range []string{key, key + "_USER", key + "_PASSWORD"} {
				if vals[k] == "" {
					missing = append(missing, k)
				}
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("keys missing or empty: %s", strings.Join(missing, ", "))
	}
	return e, nil
}

// Registries returns the default stand-ins of ghcr.io and docker.io, GHCR
// first.
func (e *Env) Registries() []Registry { return []Registry{e.GHCR, e.DockerHub} }

// AllRegistries returns every registry of the bed: the defaults first, then
// the variants GHCRRedirect and DockerHubNoReferrers.
func (e *Env) AllRegistries() []Registry {
	return []Registry{e.GHCR, e.DockerHub, e.GHCRRedirect, e.DockerHubNoReferrers}
}
