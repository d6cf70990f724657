package ghaction_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/sigil-dev/sigil/ghaction"
)

// env stands for the environment the runner gives a container action.
func env(vars map[string]string) ghaction.Option {
	return ghaction.WithGetenv(func(k string) string { return vars[k] })
}

// Reading the inputs of a step. In the action, New() with no options reads
// the real environment and writes to os.Stdout.
func Example() {
	r, err := ghaction.New(
		env(map[string]string{
			"GITHUB_ACTIONS":    "true",
			"GITHUB_REPOSITORY": "fluxcd/flux2",
			"INPUT_IMAGES":      "ghcr.io/fluxcd/flux-cli:v2.3.0\ndocker.io/fluxcd/flux-cli:v2.3.0",
			"INPUT_RECURSIVE":   "true",
		}),
		ghaction.WithStdout(os.Stdout),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Context().Repository)
	fmt.Printf("%q\n", r.Input("images"))
	fmt.Println(r.Input("recursive"))
	// Output:
	// fluxcd/flux2
	// "ghcr.io/fluxcd/flux-cli:v2.3.0\ndocker.io/fluxcd/flux-cli:v2.3.0"
	// true
}

func ExampleRuntime_SetOutput() {
	dir, err := os.MkdirTemp("", "ghaction")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	outputFile := filepath.Join(dir, "output")

	r, err := ghaction.New(
		env(map[string]string{"GITHUB_OUTPUT": outputFile}),
		// A fixed source only so that this example's output is stable:
		// leave the default (crypto/rand) in real use.
		ghaction.WithRandom(bytes.NewReader(make([]byte, 16))),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := r.SetOutput("digest", "sha256:0123"); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(outputFile)
	fmt.Print(string(b))

	// Outside a runner there is no output file.
	r, _ = ghaction.New(env(nil))
	err = r.SetOutput("digest", "sha256:0123")
	fmt.Println(errors.Is(err, ghaction.ErrNoOutputFile))
	// Output:
	// digest<<ghadelimiter_00000000-0000-4000-8000-000000000000
	// sha256:0123
	// ghadelimiter_00000000-0000-4000-8000-000000000000
	// true
}

func ExampleRuntime_IDToken() {
	// A stand-in for the runner's token endpoint.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer request-token" || req.URL.Query().Get("audience") != "sigstore" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"value": "eyJ.token.sig"}`)
	}))
	defer srv.Close()

	r, err := ghaction.New(
		env(map[string]string{
			"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + "/token?api-version=2.0",
			"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
		}),
		ghaction.WithStdout(os.Stdout),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	token, err := r.IDToken(context.Background(), "sigstore") // masked before it is returned
	fmt.Println(len(token), err)

	// A job without `permissions: id-token: write` gets no request variables.
	r, _ = ghaction.New(env(nil))
	_, err = r.IDToken(context.Background(), "sigstore")
	fmt.Println(errors.Is(err, ghaction.ErrNoIDTokenPermission))
	// Output:
	// ::add-mask::eyJ.token.sig
	// 13 <nil>
	// true
}

func ExampleRuntime_Annotate() {
	r, err := ghaction.New(env(nil), ghaction.WithStdout(os.Stdout))
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = r.Group("Verifying ghcr.io/fluxcd/flux-cli")
	_ = r.Logf("identity: %s", "https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.3.0")
	_ = r.EndGroup()
	_ = r.Annotate(ghaction.LevelError, ghaction.Annotation{Title: "sigil verify"}, "no signature for\nghcr.io/fluxcd/flux-cli@sha256:0123")
	// Output:
	// ::group::Verifying ghcr.io/fluxcd/flux-cli
	// identity: https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.3.0
	// ::endgroup::
	// ::error title=sigil verify::no signature for%0Aghcr.io/fluxcd/flux-cli@sha256:0123
}
