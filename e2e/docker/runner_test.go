package docker

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigil-dev/sigil/ghaction"
)

// step is one run of the action image.
type step struct {
	inputs    map[string]string
	env       []string // NAME=VALUE: the token endpoint
	workspace string   // the checkout, mounted at /github/workspace

	outputs map[string]string
	summary string
	log     string // stdout and stderr, as the runner reads workflow commands from both
	code    int
}

// runAction runs image as GitHub's runner runs a container action step
// (actions/runner: ContainerActionHandler and DockerCommandManager.DockerRun):
//
//	docker run --name N --label L --workdir /github/workspace --rm
//	  -e NAME ... -e GITHUB_ACTIONS=true -e CI=true [--network NET]
//	  -v _temp/_github_home:/github/home
//	  -v _temp/_github_workflow:/github/workflow
//	  -v _temp/_runner_file_commands:/github/file_commands
//	  -v WORKSPACE:/github/workspace IMAGE
//
// Variables are passed by name (`-e NAME`), their values in the docker
// client's environment, as the runner does to keep secrets off the command
// line; paths under the mounted directories are given as the container sees
// them. Two differences, both because this is a test bed: the network is
// the host's (the runner uses Docker's default bridge, or the job's network
// when it has service containers, and the bed listens on 127.0.0.1), and the
// runner's /var/run/docker.sock is not mounted (sigil never calls Docker).
func (d *daemon) runAction(t *testing.T, image string, s *step) {
	t.Helper()
	id := randomHex(t, 32) // the runner uses a GUID per step
	temp := t.TempDir()    // the runner's _temp
	home := filepath.Join(temp, "_github_home")
	workflow := filepath.Join(temp, "_github_workflow")
	cmds := filepath.Join(temp, "_runner_file_commands")
	for _, dir := range []string{home, workflow, cmds} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	event := `{"ref":"refs/tags/v1.0.0","repository":{"full_name":"sigil-dev/demo"},"pusher":{"name":"octocat"}}`
	if err := os.WriteFile(filepath.Join(workflow, "event.json"), []byte(event), 0o644); err != nil {
		t.Fatal(err)
	}
	fileCommand := map[string]string{}
	for _, name := range []string{"add_path", "set_env", "save_state", "set_output", "step_summary"} {
		f := name + "_" + id
		if err := os.WriteFile(filepath.Join(cmds, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		fileCommand[name] = "/github/file_commands/" + f
	}

	vars := map[string]string{
		"HOME":                     "/github/home",
		"GITHUB_JOB":               "release",
		"GITHUB_REF":               "refs/tags/v1.0.0",
		"GITHUB_REF_NAME":          "v1.0.0",
		"GITHUB_REF_TYPE":          "tag",
		"GITHUB_REF_PROTECTED":     "true",
		"GITHUB_SHA":               "5e8a1c3f7d2b4a6e9c0f1b3d5a7e9c2f4b6d8a0e",
		"GITHUB_REPOSITORY":        "sigil-dev/demo",
		"GITHUB_REPOSITORY_ID":     "700000001",
		"GITHUB_REPOSITORY_OWNER":  "sigil-dev",
		"GITHUB_RUN_ID":            "9000000001",
		"GITHUB_RUN_NUMBER":        "1",
		"GITHUB_RUN_ATTEMPT":       "1",
		"GITHUB_RETENTION_DAYS":    "90",
		"GITHUB_ACTOR":             "octocat",
		"GITHUB_TRIGGERING_ACTOR":  "octocat",
		"GITHUB_WORKFLOW":          "Release",
		"GITHUB_WORKFLOW_REF":      "sigil-dev/demo/.github/workflows/release.yml@refs/tags/v1.0.0",
		"GITHUB_WORKFLOW_SHA":      "5e8a1c3f7d2b4a6e9c0f1b3d5a7e9c2f4b6d8a0e",
		"GITHUB_HEAD_REF":          "",
		"GITHUB_BASE_REF":          "",
		"GITHUB_EVENT_NAME":        "push",
		"GITHUB_SERVER_URL":        "https://github.com",
		"GITHUB_API_URL":           "https://api.github.com",
		"GITHUB_GRAPHQL_URL":       "https://api.github.com/graphql",
		"GITHUB_WORKSPACE":         "/github/workspace",
		"GITHUB_ACTION":            "sign",
		"GITHUB_ACTION_REPOSITORY": "sigil-dev/sigil",
		"GITHUB_ACTION_REF":        "v1",
		"GITHUB_EVENT_PATH":        "/github/workflow/event.json",
		"GITHUB_PATH":              fileCommand["add_path"],
		"GITHUB_ENV":               fileCommand["set_env"],
		"GITHUB_STATE":             fileCommand["save_state"],
		"GITHUB_OUTPUT":            fileCommand["set_output"],
		"GITHUB_STEP_SUMMARY":      fileCommand["step_summary"],
		"RUNNER_OS":                "Linux",
		"RUNNER_ARCH":              "X64",
		"RUNNER_NAME":              "GitHub Actions 1",
		"RUNNER_ENVIRONMENT":       "github-hosted",
		"RUNNER_TOOL_CACHE":        "/opt/hostedtoolcache",
		// Not under a mount, so the runner leaves the host's path.
		"RUNNER_TEMP":      "/home/runner/work/_temp",
		"RUNNER_WORKSPACE": "/home/runner/work/demo",
	}
	for k, v := range s.inputs {
		// The runner's naming: INPUT_ and the name in upper case, spaces
		// replaced, hyphens kept.
		vars["INPUT_"+strings.ToUpper(strings.ReplaceAll(k, " ", "_"))] = v
	}
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}

	args := []string{"run", "--name", "sigil-e2e-" + id[:12], "--label", "sigil-e2e", "--workdir", "/github/workspace", "--rm"}
	env := slices.Clone(d.env)
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		args = append(args, "-e", k)
		env = append(env, k+"="+vars[k])
	}
	args = append(args, "-e", "GITHUB_ACTIONS=true", "-e", "CI=true", "--network", "host",
		"-v", home+":/github/home",
		"-v", workflow+":/github/workflow",
		"-v", cmds+":/github/file_commands",
		"-v", s.workspace+":/github/workspace",
		image)
	cmd := d.command(t.Context(), args...)
	cmd.Env = env
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err := cmd.Run()
	s.log = log.String()
	s.code = cmd.ProcessState.ExitCode()
	if err != nil && s.code <= 0 {
		t.Fatalf("docker run: %v\n%s", err, s.log)
	}
	if strings.Contains(s.log, "Unable to find image") || strings.Contains(s.log, "docker: Error") {
		t.Fatalf("docker could not run the image:\n%s", s.log)
	}
	out, err := os.ReadFile(filepath.Join(cmds, "set_output_"+id))
	if err != nil {
		t.Fatal(err)
	}
	if s.outputs, err = ghaction.ParseOutputs(string(out)); err != nil {
		t.Fatalf("GITHUB_OUTPUT: %v\n%s", err, out)
	}
	sum, err := os.ReadFile(filepath.Join(cmds, "step_summary_"+id))
	if err != nil {
		t.Fatal(err)
	}
	s.summary = string(sum)
}
