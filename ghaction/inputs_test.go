package ghaction

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sigil-dev/sigil/ghaction/inputlist"
)

func TestInputEnv(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"images":               "INPUT_IMAGES",
		"github-token":         "INPUT_GITHUB-TOKEN",
		"registry-credentials": "INPUT_REGISTRY-CREDENTIALS",
		"my input":             "INPUT_MY_INPUT",
		"certificate_identity": "INPUT_CERTIFICATE_IDENTITY",
	}
	for name, want := range tests {
		if got := InputEnv(name); got != want {
			t.Errorf("InputEnv(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestInput(t *testing.T) {
	t.Parallel()
	r, _ := newTestRuntime(t, testEnv{
		"INPUT_GITHUB-TOKEN": "  ghs_abc \n",
		"INPUT_GITHUB_TOKEN": "wrong variable",
		"INPUT_MY_INPUT":     "x",
	})
	tests := []struct{ name, want string }{
		{"github-token", "ghs_abc"},
		{"GitHub-Token", "ghs_abc"},
		{"my input", "x"},
		{"unset", ""},
	}
	for _, tt := range tests {
		if got := r.Input(tt.name); got != tt.want {
			t.Errorf("Input(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestInputBool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		def     bool
		want    bool
		wantErr string
	}{
		{value: "true", want: true},
		{value: "True", want: true},
		{value: " TRUE\n", want: true},
		{value: "false", def: true, want: false},
		{value: "False", def: true, want: false},
		{value: "FALSE", def: true, want: false},
		{value: "", def: true, want: true},
		{value: "", def: false, want: false},
		{value: "yes", wantErr: `input recursive: "yes" is not a boolean: want one of true, True, TRUE, false, False, FALSE`},
		{value: "tRUE", wantErr: `input recursive: "tRUE" is not a boolean: want one of true, True, TRUE, false, False, FALSE`},
		{value: "1", wantErr: `input recursive: "1" is not a boolean: want one of true, True, TRUE, false, False, FALSE`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			r, _ := newTestRuntime(t, testEnv{"INPUT_RECURSIVE": tt.value})
			got, err := r.InputBool("recursive", tt.def)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("InputBool error mismatch (-want +got):\n%s", diff)
			}
			if got != tt.want {
				t.Errorf("InputBool = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInputParsers(t *testing.T) {
	t.Parallel()
	r, stdout := newTestRuntime(t, testEnv{
		"INPUT_IMAGES":               "ghcr.io/o/r:v1\n# comment\ndocker.io/o/r:v1, docker.io/o/r:latest\n",
		"INPUT_FILES":                "dist/*.{tar.gz,zip}\ndist/checksums.txt",
		"INPUT_ANNOTATIONS":          "release=v1\nsource = https://github.com/o/r",
		"INPUT_BAD-ANNOTATIONS":      "release",
		"INPUT_REGISTRY-CREDENTIALS": "ghcr.io=octocat:ghs_one\ndocker.io=flux:dckr:pat=two\nmulti=line",
	})
	if diff := cmp.Diff([]string{"ghcr.io/o/r:v1", "docker.io/o/r:v1", "docker.io/o/r:latest"}, r.InputList("images")); diff != "" {
		t.Errorf("InputList mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"dist/*.{tar.gz,zip}", "dist/checksums.txt"}, r.InputLines("files")); diff != "" {
		t.Errorf("InputLines mismatch (-want +got):\n%s", diff)
	}
	kv, err := r.InputKeyValues("annotations")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"release": "v1", "source": "https://github.com/o/r"}, kv); diff != "" {
		t.Errorf("InputKeyValues mismatch (-want +got):\n%s", diff)
	}
	_, err = r.InputKeyValues("bad-annotations")
	if diff := cmp.Diff("input bad-annotations: line 1: missing '=': want key=value", errString(err)); diff != "" {
		t.Errorf("InputKeyValues error mismatch (-want +got):\n%s", diff)
	}

	_, err = r.InputCredentials("registry-credentials")
	want := "input registry-credentials: line 3: missing ':' between username and password: want host=username:password, e.g. ghcr.io=octocat:${{ github.token }}"
	if diff := cmp.Diff(want, errString(err)); diff != "" {
		t.Errorf("InputCredentials error mismatch (-want +got):\n%s", diff)
	}
	if stdout.Len() != 0 {
		t.Errorf("InputCredentials masked %q before failing; want nothing written", stdout)
	}
}

func TestInputCredentialsMasksPasswords(t *testing.T) {
	t.Parallel()
	r, stdout := newTestRuntime(t, testEnv{
		"INPUT_REGISTRY-CREDENTIALS": "ghcr.io=octocat:ghs_one\nregistry-1.docker.io=flux:dckr:pat=two%",
	})
	got, err := r.InputCredentials("registry-credentials")
	if err != nil {
		t.Fatal(err)
	}
	want := []inputlist.Credential{
		{Host: "ghcr.io", Username: "octocat", Password: "ghs_one"},
		{Host: "index.docker.io", Username: "flux", Password: "dckr:pat=two%"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("InputCredentials mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("::add-mask::ghs_one\n::add-mask::dckr:pat=two%25\n", stdout.String()); diff != "" {
		t.Errorf("masks mismatch (-want +got):\n%s", diff)
	}

	r, _ = newTestRuntime(t, testEnv{"INPUT_REGISTRY-CREDENTIALS": "ghcr.io=a:b"}, WithStdout(failWriter{}))
	if _, err := r.InputCredentials("registry-credentials"); err == nil {
		t.Error("InputCredentials returned credentials it could not mask")
	}
}
