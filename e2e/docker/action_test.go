package docker

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sigil-dev/sigil/app"
)

// declared returns the action's input and output names, from the table
// that action.yml is checked against (app/inputs_test.go).
func declared() (inputs, outputs map[string]bool) {
	inputs, outputs = map[string]bool{}, map[string]bool{}
	for _, in := range app.Inputs {
		if !in.CLIOnly {
			inputs[in.Name] = true
		}
	}
	for _, out := range app.Outputs {
		outputs[out.Name] = true
	}
	return inputs, outputs
}

// TestWorkflowsUseDeclaredInputs checks the example workflows, which use the
// released action (sigil-dev/sigil@...) that actionlint cannot read: every
// input they give is one action.yml declares, and every output of a sigil
// step they read is one it declares. (Steps with `uses: ./` in this
// repository's workflows are checked by actionlint itself.)
func TestWorkflowsUseDeclaredInputs(t *testing.T) {
	inputs, outputs := declared()
	files, err := filepath.Glob(filepath.Join(repoRoot, "workflows-example", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("want the example workflows (release, release-files, verify) in workflows-example/, found %v", files)
	}
	outputRef := regexp.MustCompile(`steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Jobs map[string]struct {
				Steps []struct {
					ID   string            `yaml:"id"`
					Uses string            `yaml:"uses"`
					With map[string]string `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(b, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		sigilSteps := map[string]bool{}
		n := 0
		for job, j := range wf.Jobs {
			for _, st := range j.Steps {
				if !strings.HasPrefix(st.Uses, "sigil-dev/sigil@") {
					continue
				}
				n++
				if st.ID != "" {
					sigilSteps[st.ID] = true
				}
				for in := range st.With {
					if !inputs[in] {
						t.Errorf("%s: job %s gives sigil the input %q, which action.yml does not declare", filepath.Base(f), job, in)
					}
				}
			}
		}
		if n == 0 {
			t.Errorf("%s uses no sigil-dev/sigil step", filepath.Base(f))
		}
		for _, m := range outputRef.FindAllStringSubmatch(string(b), -1) {
			if sigilSteps[m[1]] && !outputs[m[2]] {
				t.Errorf("%s reads output %q of sigil step %s, which action.yml does not declare", filepath.Base(f), m[2], m[1])
			}
		}
	}
}

// TestActionlint runs actionlint (with shellcheck for the run: scripts)
// over this repository's workflows and the example workflows. actionlint
// also checks each `uses: ./` step against action.yml's inputs.
func TestActionlint(t *testing.T) {
	out, err := exec.Command("bash", filepath.Join(repoRoot, "testbed", "install-actionlint.sh"), "--path").Output()
	if err != nil {
		t.Fatalf("testbed/install-actionlint.sh --path: %v", err)
	}
	actionlint := strings.TrimSpace(string(out))
	if _, err := os.Stat(actionlint); err != nil {
		skipOrFail(t, "actionlint is not installed (%s): run testbed/install-actionlint.sh", actionlint)
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		skipOrFail(t, "shellcheck is missing, so actionlint would check no run: script: apt-get install -y --no-install-recommends shellcheck")
	}
	var files []string
	for _, g := range []string{".github/workflows/*.yml", "workflows-example/*.yml"} {
		m, err := filepath.Glob(filepath.Join(repoRoot, g))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			t.Errorf("no workflow matches %s", g)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(repoRoot, f)
			files = append(files, rel)
		}
	}
	cmd := exec.CommandContext(t.Context(), actionlint, append([]string{"-no-color"}, files...)...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("actionlint %s: %v\n%s", strings.Join(files, " "), err, out)
	}
}
