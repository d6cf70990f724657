package ghaction

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opt     Option
		wantErr string
	}{
		{"getenv", WithGetenv(nil), "ghaction.WithGetenv: nil function"},
		{"stdout", WithStdout(nil), "ghaction.WithStdout: nil writer"},
		{"transport", WithTransport(nil), "ghaction.WithTransport: nil transport"},
		{"random", WithRandom(nil), "ghaction.WithRandom: nil reader"},
		{"timeout", WithTokenTimeout(0), "ghaction.WithTokenTimeout: timeout must be positive"},
		{"retries", WithTokenRetries(-1), "ghaction.WithTokenRetries: retries must not be negative"},
		{"backoff", WithBackoff(nil), "ghaction.WithBackoff: nil function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := New(tt.opt)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("New error mismatch (-want +got):\n%s", diff)
			}
			if r != nil {
				t.Errorf("New returned a Runtime with an error")
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	r, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.tokenTimeout != DefaultTokenTimeout || r.tokenRetries != DefaultTokenRetries {
		t.Errorf("defaults: timeout %v, retries %d", r.tokenTimeout, r.tokenRetries)
	}
}

func TestDefaultBackoff(t *testing.T) {
	t.Parallel()
	var got []string
	for retry := 0; retry <= 7; retry++ {
		got = append(got, DefaultBackoff(retry).String())
	}
	want := []string{"1s", "1s", "2s", "4s", "8s", "16s", "30s", "30s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DefaultBackoff mismatch (-want +got):\n%s", diff)
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  testEnv
		want Context
	}{
		{name: "not on a runner", env: testEnv{}, want: Context{ServerURL: "https://github.com"}},
		{
			name: "release workflow",
			env: testEnv{
				"GITHUB_ACTIONS":      "true",
				"GITHUB_REPOSITORY":   "fluxcd/flux2",
				"GITHUB_ACTOR":        "fluxcdbot",
				"GITHUB_SERVER_URL":   "https://ghes.example.com",
				"GITHUB_WORKFLOW_REF": "fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.3.0",
				"GITHUB_REF":          "refs/tags/v2.3.0",
				"GITHUB_SHA":          "0123456789abcdef0123456789abcdef01234567",
				"GITHUB_WORKSPACE":    "/github/workspace",
				"GITHUB_EVENT_NAME":   "push",
				"RUNNER_TEMP":         "/home/runner/work/_temp",
			},
			want: Context{
				Actions:     true,
				Repository:  "fluxcd/flux2",
				Actor:       "fluxcdbot",
				ServerURL:   "https://ghes.example.com",
				WorkflowRef: "fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.3.0",
				Ref:         "refs/tags/v2.3.0",
				SHA:         "0123456789abcdef0123456789abcdef01234567",
				Workspace:   "/github/workspace",
				EventName:   "push",
				RunnerTemp:  "/home/runner/work/_temp",
			},
		},
		{name: "GITHUB_ACTIONS other than true", env: testEnv{"GITHUB_ACTIONS": "1"}, want: Context{ServerURL: "https://github.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, _ := newTestRuntime(t, tt.env)
			if diff := cmp.Diff(tt.want, r.Context()); diff != "" {
				t.Errorf("Context mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInContainer(t *testing.T) {
	t.Parallel()
	inContainer := Context{Workspace: ContainerWorkspace, RunnerWorkspace: "/home/runner/work/flux2", Repository: "fluxcd/flux2"}
	tests := []struct {
		name string
		c    Context
		in   string
		want string
	}{
		{"runner workspace path", inContainer, "/home/runner/work/flux2/flux2/.docker", "/github/workspace/.docker"},
		{"the workspace itself", inContainer, "/home/runner/work/flux2/flux2", "/github/workspace"},
		{"already a container path", inContainer, "/github/workspace/.docker", "/github/workspace/.docker"},
		{"outside the workspace", inContainer, "/home/runner/.docker", "/home/runner/.docker"},
		{"a sibling named alike", inContainer, "/home/runner/work/flux2/flux2-old/.docker", "/home/runner/work/flux2/flux2-old/.docker"},
		{"not in a container", Context{Workspace: "/home/runner/work/flux2/flux2", RunnerWorkspace: "/home/runner/work/flux2", Repository: "fluxcd/flux2"}, "/home/runner/work/flux2/flux2/.docker", "/home/runner/work/flux2/flux2/.docker"},
	}
	for _, tc := range tests {
		if got := tc.c.InContainer(tc.in); got != tc.want {
			t.Errorf("%s: InContainer(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}
