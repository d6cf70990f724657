package tbenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

const full = `# comment
SIGIL_TB_DIR='/tb'
SIGIL_TB_TOKEN_URL='http://127.0.0.1:1/_apis/distributedtask/idtoken?api-version=2.0'
SIGIL_TB_TOKEN='tok'
SIGIL_TB_ISSUER='http://127.0.0.1:1'
SIGIL_TB_STATS_URL='http://127.0.0.1:1/stats'
SIGIL_TB_FULCIO_URL='http://127.0.0.1:2'
SIGIL_TB_FULCIO_METRICS_URL='http://127.0.0.1:3/metrics'
SIGIL_TB_FULCIO_ROOT='/tb/trust/fulcio.pem'
SIGIL_TB_REKOR_URL='http://127.0.0.1:4'
SIGIL_TB_REKOR_PUBKEY='/tb/trust/rekor.pub'
SIGIL_TB_REKOR_V2_URL='http://127.0.0.1:5'
SIGIL_TB_REKOR_V2_PUBKEY='/tb/trust/rekor2.pub'
SIGIL_TB_TSA_URL="http://127.0.0.1:6"

SIGIL_TB_TSA_CHAIN=/tb/trust/tsa.pem
SIGIL_TB_CTLOG_URL='http://127.0.0.1:9/sigil'
SIGIL_TB_CTLOG_PUBKEY='/tb/trust/ctlog.pub'
SIGIL_TB_GHCR='127.0.0.1:7'
SIGIL_TB_GHCR_USER='sigil'
SIGIL_TB_GHCR_PASSWORD='p1'
SIGIL_TB_DOCKERHUB='127.0.0.1:8'
SIGIL_TB_DOCKERHUB_USER='sigil'
SIGIL_TB_DOCKERHUB_PASSWORD='p2'
SIGIL_TB_GHCR_REDIRECT='127.0.0.1:9'
SIGIL_TB_GHCR_REDIRECT_USER='sigil'
SIGIL_TB_GHCR_REDIRECT_PASSWORD='p1'
SIGIL_TB_DOCKERHUB_NO_REFERRERS='127.0.0.1:10'
SIGIL_TB_DOCKERHUB_NO_REFERRERS_USER='sigil'
SIGIL_TB_DOCKERHUB_NO_REFERRERS_PASSWORD='p2'
SIGIL_TB_DOCKERHUB_AUTH='http://localhost:11/token'
SIGIL_TB_PUBLIC_NAMESPACE='public'
SIGIL_TB_TRUSTED_ROOT='/tb/trust/trusted_root.json'
SIGIL_TB_SIGNING_CONFIG='/tb/trust/signing_config.json'
SIGIL_TB_SIGNING_CONFIG_V2='/tb/trust/signing_config_v2.json'
SIGIL_TB_TUF_URL='http://127.0.0.1:12'
SIGIL_TB_TUF_ROOT='/tb/trust/tuf-root.json'
SIGIL_TB_TUF_EXPIRED_URL='http://127.0.0.1:12/expired'
SIGIL_TB_TUF_BADSIG_URL='http://127.0.0.1:12/badsig'
SIGIL_TB_COSIGN2='/c/cosign2'
SIGIL_TB_COSIGN3='/c/cosign3'
`

func TestParse(t *testing.T) {
	t.Parallel()
	want := &Env{
		Dir:                  "/tb",
		TokenURL:             "http://127.0.0.1:1/_apis/distributedtask/idtoken?api-version=2.0",
		Token:                "tok",
		Issuer:               "http://127.0.0.1:1",
		StatsURL:             "http://127.0.0.1:1/stats",
		FulcioURL:            "http://127.0.0.1:2",
		FulcioMetricsURL:     "http://127.0.0.1:3/metrics",
		FulcioRoot:           "/tb/trust/fulcio.pem",
		RekorURL:             "http://127.0.0.1:4",
		RekorPubKey:          "/tb/trust/rekor.pub",
		RekorV2URL:           "http://127.0.0.1:5",
		RekorV2PubKey:        "/tb/trust/rekor2.pub",
		TSAURL:               "http://127.0.0.1:6",
		TSAChain:             "/tb/trust/tsa.pem",
		CTLogURL:             "http://127.0.0.1:9/sigil",
		CTLogPubKey:          "/tb/trust/ctlog.pub",
		GHCR:                 Registry{Name: "ghcr", Host: "127.0.0.1:7", User: "sigil", Password: "p1"},
		DockerHub:            Registry{Name: "dockerhub", Host: "127.0.0.1:8", User: "sigil", Password: "p2"},
		GHCRRedirect:         Registry{Name: "ghcr_redirect", Host: "127.0.0.1:9", User: "sigil", Password: "p1"},
		DockerHubNoReferrers: Registry{Name: "dockerhub_no_referrers", Host: "127.0.0.1:10", User: "sigil", Password: "p2"},
		DockerHubAuth:        "http://localhost:11/token",
		PublicNamespace:      "public",
		TrustedRoot:          "/tb/trust/trusted_root.json",
		SigningConfig:        "/tb/trust/signing_config.json",
		SigningConfigV2:      "/tb/trust/signing_config_v2.json",
		TUFURL:               "http://127.0.0.1:12",
		TUFRoot:              "/tb/trust/tuf-root.json",
		TUFExpiredURL:        "http://127.0.0.1:12/expired",
		TUFBadSigURL:         "http://127.0.0.1:12/badsig",
		Cosign2:              "/c/cosign2",
		Cosign3:              "/c/cosign3",
	}
	for _, tc := range []struct {
		name    string
		in      string
		want    *Env
		wantErr string
	}{
		{name: "full", in: full, want: want},
		{name: "missing keys", in: strings.ReplaceAll(strings.ReplaceAll(full, "SIGIL_TB_TOKEN=", "X="), "SIGIL_TB_GHCR_USER", "Y"),
			wantErr: "keys missing or empty: SIGIL_TB_TOKEN, SIGIL_TB_GHCR_USER"},
		{name: "empty value", in: strings.ReplaceAll(full, "'/c/cosign3'", "''"), wantErr: "SIGIL_TB_COSIGN3"},
		{name: "not key=value", in: full + "oops\n", wantErr: fmt.Sprintf("line %d is not KEY=value", strings.Count(full, "\n")+1)},
		{name: "empty", in: "", wantErr: "SIGIL_TB_DIR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// recorder is a testing.TB whose Skipf and Fatalf record the message and
// end the goroutine, as the real ones do.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func loadWith(t *testing.T) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Load(r)
	}()
	<-done
	return r
}

func TestLoadWithoutBed(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "env")
	t.Setenv("SIGIL_TB_ENV", missing)

	t.Setenv("SIGIL_TESTBED", "")
	if r := loadWith(t); !strings.Contains(r.skipped, "make testbed") || r.failed != "" {
		t.Errorf("without SIGIL_TESTBED: skipped %q, failed %q; want a skip saying to run make testbed", r.skipped, r.failed)
	}
	t.Setenv("SIGIL_TESTBED", "required")
	if r := loadWith(t); !strings.Contains(r.failed, "SIGIL_TESTBED=required") || r.skipped != "" {
		t.Errorf("with SIGIL_TESTBED=required: skipped %q, failed %q; want a failure", r.skipped, r.failed)
	}
}

func TestLoadDeadBed(t *testing.T) {
	// An env file whose services do not answer fails even when the bed is
	// optional: someone meant to use it.
	path := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(path, []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIGIL_TB_ENV", path)
	t.Setenv("SIGIL_TESTBED", "")
	if r := loadWith(t); !strings.Contains(r.failed, "does not answer") {
		t.Errorf("failed %q, want one saying the bed does not answer", r.failed)
	}
}

func TestEnvPath(t *testing.T) {
	t.Setenv("SIGIL_TB_ENV", "")
	t.Setenv("SIGIL_TB_DIR", "")
	p, err := envPath()
	if err != nil {
		t.Fatal(err)
	}
	// This package is three levels below the repository root.
	root, _ := filepath.Abs("../../..")
	if want := filepath.Join(root, ".testbed", "env"); p != want {
		t.Errorf("envPath = %s, want %s", p, want)
	}
	t.Setenv("SIGIL_TB_DIR", "/elsewhere")
	if p, _ := envPath(); p != "/elsewhere/env" {
		t.Errorf("with SIGIL_TB_DIR: %s, want /elsewhere/env", p)
	}
	t.Setenv("SIGIL_TB_ENV", "/x/env")
	if p, _ := envPath(); p != "/x/env" {
		t.Errorf("with SIGIL_TB_ENV: %s, want /x/env", p)
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	e, err := Parse(strings.NewReader(full))
	if err != nil {
		t.Fatal(err)
	}
	claims := Claims{"repository": {"a/b"}, "ref": {"refs/heads/x"}}
	if got, want := e.TokenURLWith(claims), e.TokenURL+"&ref=refs%2Fheads%2Fx&repository=a%2Fb"; got != want {
		t.Errorf("TokenURLWith = %s, want %s", got, want)
	}
	if got := e.TokenURLWith(nil); got != e.TokenURL {
		t.Errorf("TokenURLWith(nil) = %s, want %s", got, e.TokenURL)
	}
	if diff := cmp.Diff([]string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + e.TokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=tok"}, e.ActionsEnv(nil)); diff != "" {
		t.Errorf("ActionsEnv (-want +got):\n%s", diff)
	}
	if got, want := Identity("o/r", ".github/workflows/w.yml", "refs/tags/v1"), "https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1"; got != want {
		t.Errorf("Identity = %s, want %s", got, want)
	}

	for _, r := range e.AllRegistries() {
		res, err := name.NewRepository(r.Host + "/x/y")
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.Keychain().Resolve(res)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := a.Authorization()
		if err != nil || cfg.Username != r.User || cfg.Password != r.Password {
			t.Errorf("Keychain for %s = %+v, %v; want %s's credentials", r.Host, cfg, err, r.Name)
		}
	}
	other, _ := name.NewRepository("ghcr.io/x/y")
	if a, _ := e.Keychain().Resolve(other); a != authn.Anonymous {
		t.Errorf("Keychain for ghcr.io = %v, want anonymous", a)
	}

	var cfg struct {
		Auths map[string]struct{ Auth string }
	}
	b, err := os.ReadFile(filepath.Join(e.DockerConfig(t), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Auths["127.0.0.1:8"].Auth; got != "c2lnaWw6cDI=" { // sigil:p2
		t.Errorf("docker config auth for the dockerhub stand-in = %q", got)
	}
}

func TestUniqueNames(t *testing.T) {
	t.Parallel()
	a, b := UniqueRepo(t), UniqueRepo(t)
	if a == b || !strings.HasPrefix(a, "sigil-test/testuniquenames-") {
		t.Errorf("UniqueRepo = %s, %s; want two names under sigil-test/testuniquenames-", a, b)
	}
	if _, err := name.NewRepository("127.0.0.1:1/" + a); err != nil {
		t.Errorf("UniqueRepo %s is not a valid repository: %v", a, err)
	}
	if first, second := UniqueRunID(t), UniqueRunID(t); first == second {
		t.Error("UniqueRunID repeated itself")
	}
}

func TestRandomIndex(t *testing.T) {
	t.Parallel()
	m, err := RandomIndex(t).IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range m.Manifests {
		got = append(got, d.Platform.String())
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, got); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
}

func TestToolEnv(t *testing.T) {
	t.Parallel()
	e, err := Parse(strings.NewReader(full))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		url  string
		want string // in the failure; empty: none
	}{
		{name: "leaves the machine", url: "http://sigstore.example/x", want: "sigstore.example"},
		{name: "stays", url: ""},
	} {
		r := &recorder{}
		t.Run(tc.name, func(t *testing.T) {
			r.TB = t
			var proxy string
			for _, kv := range e.ToolEnv(r) {
				if v, ok := strings.CutPrefix(kv, "HTTP_PROXY="); ok {
					proxy = v
				}
			}
			if tc.url == "" {
				return
			}
			pu, err := url.Parse(proxy)
			if err != nil {
				t.Fatal(err)
			}
			c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
			resp, err := c.Get(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("the proxy answered %s, want 403", resp.Status)
			}
		})
		if tc.want == "" && r.failed != "" || !strings.Contains(r.failed, tc.want) {
			t.Errorf("%s: failure %q, want one naming %q", tc.name, r.failed, tc.want)
		}
	}
}
