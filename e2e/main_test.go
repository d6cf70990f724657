package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sigil-dev/sigil/app"
	"github.com/sigil-dev/sigil/ghaction"
	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

// sigil is the binary under test, built once by TestMain.
var sigil string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sigil-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sigil = filepath.Join(dir, "sigil")
	build := exec.Command("go", "build", "-o", sigil, "github.com/sigil-dev/sigil")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sigil: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// step is one run of the action.
type step struct {
	inputs  map[string]string
	env     []string // extra variables, e.g. the token endpoint
	dir     string   // the workspace
	outputs map[string]string
	summary string
	stdout  string
	code    int // -1 when a signal ended the process
	// started, when set, is called with the process once it has started:
	// a test that kills the run (TestSignSurvivesKill) takes it from there.
	started func(*os.Process)
	// transport, when set, runs sigil in this process (app.Action), every
	// request but the token's going through it, instead of the binary:
	// the same step with a transport the test chose. Relative paths are
	// the test's; policies-dir defaults to one in the workspace.
	transport http.RoundTripper
}

// runAction runs sigil as GitHub runs a container action: no arguments,
// GITHUB_ACTIONS=true, inputs as INPUT_<NAME> (upper case, hyphens kept),
// file commands in files, the workspace as working directory.
func runAction(t *testing.T, s *step) {
	t.Helper()
	if s.dir == "" {
		s.dir = t.TempDir()
	}
	cmdDir := t.TempDir()
	outFile, sumFile := filepath.Join(cmdDir, "output"), filepath.Join(cmdDir, "summary")
	for _, f := range []string{outFile, sumFile} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"GITHUB_ACTIONS=true",
		"CI=true",
		"GITHUB_OUTPUT=" + outFile,
		"GITHUB_STEP_SUMMARY=" + sumFile,
		"GITHUB_WORKSPACE=" + s.dir,
		"GITHUB_REPOSITORY=sigil-dev/demo",
		"GITHUB_REPOSITORY_OWNER=sigil-dev",
		"GITHUB_SERVER_URL=https://github.com",
		"GITHUB_WORKFLOW_REF=sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0",
		"GITHUB_REF=refs/tags/v1.0.0",
		"GITHUB_SHA=0123456789abcdef0123456789abcdef01234567",
		"GITHUB_EVENT_NAME=push",
		"GITHUB_ACTOR=octocat",
		"RUNNER_TEMP=" + t.TempDir(),
	}
	for k, v := range s.inputs {
		env = append(env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	env = append(env, s.env...)
	if s.transport != nil {
		runInProcess(t, s, env)
	} else if !runBinary(t, s, env) {
		return // killed: its file commands are not read
	}
	out, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if s.outputs, err = ghaction.ParseOutputs(string(out)); err != nil {
		t.Fatalf("GITHUB_OUTPUT: %v\n%s", err, out)
	}
	sum, err := os.ReadFile(sumFile)
	if err != nil {
		t.Fatal(err)
	}
	s.summary = string(sum)
}

// runBinary runs the binary for s with env; it reports false when a signal
// ended it.
func runBinary(t *testing.T, s *step, env []string) bool {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), sigil)
	cmd.Dir, cmd.Env = s.dir, env
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("running sigil: %v", err)
	}
	if s.started != nil {
		s.started(cmd.Process)
	}
	err := cmd.Wait()
	s.stdout = stdout.String()
	s.code = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return false
	}
	if err != nil && s.code <= 0 {
		t.Fatalf("running sigil: %v", err)
	}
	return true
}

// runInProcess runs app.Action for s with env, its requests going through
// s.transport.
func runInProcess(t *testing.T, s *step, env []string) {
	t.Helper()
	if _, ok := s.inputs["policies-dir"]; !ok {
		env = append(env, "INPUT_POLICIES-DIR="+filepath.Join(s.dir, "sigil-policies"))
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	getenv := func(k string) string { return vars[k] }
	var stdout bytes.Buffer
	rt, err := ghaction.New(ghaction.WithGetenv(getenv), ghaction.WithStdout(&stdout))
	if err != nil {
		t.Fatal(err)
	}
	s.code = app.Action(t.Context(), rt, getenv, app.Env{Transport: s.transport})
	s.stdout = stdout.String()
}

// cosign runs a reference client with the bed's registry credentials and no
// network beyond the bed, and returns its combined output and error.
func cosign(t *testing.T, e *tbenv.Env, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	// ToolEnv fails the test if cosign tries to leave the machine.
	cmd.Env = append(e.ToolEnv(t), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
