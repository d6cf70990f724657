package ghaction

import (
	"testing"
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
		if got := inputEnv(name); got != want {
			t.Errorf("inputEnv(%q) = %q, want %q", name, got, want)
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
