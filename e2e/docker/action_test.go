package docker

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/sigil-dev/sigil/app"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/verify"
)

// actionMetadata is action.yml, as GitHub's runner reads it.
type actionMetadata struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Author      string `yaml:"author"`
	Branding    struct {
		Icon  string `yaml:"icon"`
		Color string `yaml:"color"`
	} `yaml:"branding"`
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Image string `yaml:"image"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) (actionMetadata, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var md actionMetadata
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&md); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return md, b
}

// appIO is what package app reads and writes as an action.
type appIO struct {
	inputs  map[string]bool
	outputs map[string]bool
	// boolDefaults are the defaults InputBool is called with, per input;
	// one input may have two (sign and verify differ).
	boolDefaults map[string]map[string]bool
}

// readAppIO reads app's non-test sources for the inputs it reads
// (rt.Input, InputList, InputBool, ... with a literal name) and the outputs
// it writes (rt.SetOutput with a literal name, or tables of {name, value}
// pairs handed to it).
func readAppIO(t *testing.T) appIO {
	t.Helper()
	io := appIO{inputs: map[string]bool{}, outputs: map[string]bool{}, boolDefaults: map[string]map[string]bool{}}
	files, err := filepath.Glob(filepath.Join(repoRoot, "app", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || len(n.Args) == 0 {
					return true
				}
				name, ok := stringLit(n.Args[0])
				if !ok {
					return true
				}
				switch m := sel.Sel.Name; {
				case m == "SetOutput":
					io.outputs[name] = true
				case strings.HasPrefix(m, "Input") && m != "InputEnv":
					io.inputs[name] = true
					if m == "InputBool" && len(n.Args) == 2 {
						if id, ok := n.Args[1].(*ast.Ident); ok {
							if io.boolDefaults[name] == nil {
								io.boolDefaults[name] = map[string]bool{}
							}
							io.boolDefaults[name][id.Name] = true
						}
					}
				}
			case *ast.CompositeLit:
				// output{"signatures", js}: app's publish writes these.
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "output" && len(n.Elts) > 0 {
					if name, ok := stringLit(n.Elts[0]); ok {
						io.outputs[name] = true
					}
				}
			}
			return true
		})
	}
	return io
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// pinLine is the one line of action.yml that the release workflow rewrites
// to the released image's digest, and CI to `image: Dockerfile`.
var pinLine = regexp.MustCompile(`(?m)^  image: docker://ghcr\.io/sigil-dev/sigil@sha256:[0-9a-f]{64}$`)

// TestActionMetadata checks action.yml against the program: every input the
// action reads is declared, every declared input is read, the same for
// outputs; each has a description; the defaults are the program's; and the
// image is pinned by digest on the one line the workflows rewrite.
func TestActionMetadata(t *testing.T) {
	md, raw := readAction(t)
	io := readAppIO(t)
	if len(io.inputs) < 10 || len(io.outputs) < 5 {
		t.Fatalf("found only %d inputs and %d outputs in app/: has the way it reads them changed? %v %v", len(io.inputs), len(io.outputs), io.inputs, io.outputs)
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(io.inputs)), slices.Sorted(maps.Keys(md.Inputs))); diff != "" {
		t.Errorf("inputs: app/ reads (-) but action.yml declares (+):\n%s", diff)
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(io.outputs)), slices.Sorted(maps.Keys(md.Outputs))); diff != "" {
		t.Errorf("outputs: app/ writes (-) but action.yml declares (+):\n%s", diff)
	}

	if md.Name == "" || md.Description == "" || md.Branding.Icon == "" || md.Branding.Color == "" {
		t.Errorf("action.yml needs a name, a description and branding (icon, color): %+v", md)
	}
	for name, in := range md.Inputs {
		if strings.TrimSpace(in.Description) == "" {
			t.Errorf("input %s has no description", name)
		}
		if in.Default == nil {
			t.Errorf("input %s has no default: give one, '' if empty", name)
		}
		if in.Required {
			t.Errorf("input %s is required: every input has a default, and the program says what is missing", name)
		}
	}
	for name, out := range md.Outputs {
		if strings.TrimSpace(out.Description) == "" {
			t.Errorf("output %s has no description", name)
		}
	}

	def := func(name string) string {
		if in, ok := md.Inputs[name]; ok && in.Default != nil {
			return *in.Default
		}
		return ""
	}
	for name, want := range map[string]string{
		"mode":         "sign",
		"github-token": "${{ github.token }}",
		"concurrency":  strconv.Itoa(app.DefaultConcurrency),
		"policies-dir": app.DefaultPolicyDir,
	} {
		if got := def(name); got != want {
			t.Errorf("input %s: default %q, want %q", name, got, want)
		}
	}
	// A boolean read with one default in every mode declares it; one read
	// with a default per mode (recursive: sign true, verify false) declares
	// none, so that each mode applies its own.
	for name, defaults := range io.boolDefaults {
		got := def(name)
		switch {
		case len(defaults) > 1 && got != "":
			t.Errorf("input %s: default %q, but the modes differ (%v): leave it empty", name, got, slices.Sorted(maps.Keys(defaults)))
		case len(defaults) == 1 && !defaults[got]:
			t.Errorf("input %s: default %q, want %v", name, got, slices.Sorted(maps.Keys(defaults)))
		}
	}
	// format is read by both modes, with different values.
	if _, err := sign.ParseFormat(def("format")); err != nil {
		t.Errorf("input format: the default is refused by sign: %v", err)
	}
	if _, err := verify.ParseFormat(def("format")); err != nil {
		t.Errorf("input format: the default is refused by verify: %v", err)
	}

	if md.Runs.Using != "docker" {
		t.Errorf("runs.using = %q, want docker", md.Runs.Using)
	}
	if !pinLine.MatchString(string(raw)) || len(pinLine.FindAllString(string(raw), -1)) != 1 {
		t.Errorf("action.yml must hold exactly one line %q (the workflows rewrite it); runs.image is %q", pinLine, md.Runs.Image)
	}
}

// TestWorkflowsUseDeclaredInputs checks the example workflows, which use the
// released action (sigil-dev/sigil@...) that actionlint cannot read: every
// input they give is one action.yml declares, and every output of a sigil
// step they read is one it declares. (Steps with `uses: ./` in this
// repository's workflows are checked by actionlint itself.)
func TestWorkflowsUseDeclaredInputs(t *testing.T) {
	md, _ := readAction(t)
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
					if _, ok := md.Inputs[in]; !ok {
						t.Errorf("%s: job %s gives sigil the input %q, which action.yml does not declare", filepath.Base(f), job, in)
					}
				}
			}
		}
		if n == 0 {
			t.Errorf("%s uses no sigil-dev/sigil step", filepath.Base(f))
		}
		for _, m := range outputRef.FindAllStringSubmatch(string(b), -1) {
			if _, ok := md.Outputs[m[2]]; sigilSteps[m[1]] && !ok {
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
