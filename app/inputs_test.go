package app

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/sigil-dev/sigil/setting"
)

// actionYML is action.yml, at the repository's root.
const actionYML = "../action.yml"

// renderIO renders action.yml's inputs and outputs from the tables.
func renderIO() string {
	var b strings.Builder
	b.WriteString("inputs:\n")
	for _, in := range Inputs {
		if in.CLIOnly {
			continue
		}
		fmt.Fprintf(&b, "  %s:\n", in.Name)
		writeDescription(&b, in.Description)
		b.WriteString("    required: false\n")
		fmt.Fprintf(&b, "    default: '%s'\n", strings.ReplaceAll(in.Default, "'", "''"))
	}
	b.WriteString("\noutputs:\n")
	for _, out := range Outputs {
		fmt.Fprintf(&b, "  %s:\n", out.Name)
		writeDescription(&b, out.Description)
	}
	return b.String()
}

// writeDescription writes a folded description, wrapped at 72 columns.
func writeDescription(b *strings.Builder, text string) {
	b.WriteString("    description: >-\n")
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > 66 {
			fmt.Fprintf(b, "      %s\n", line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	fmt.Fprintf(b, "      %s\n", line)
}

// TestActionYML checks that action.yml's inputs and outputs are the ones
// the tables declare, word for word (go test ./app -update rewrites them),
// and the rest of the file as the runner and the release workflow need it.
func TestActionYML(t *testing.T) {
	raw, err := os.ReadFile(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	file := string(raw)
	start, end := strings.Index(file, "\ninputs:\n"), strings.Index(file, "\nruns:\n")
	if start < 0 || end < start {
		t.Fatalf("action.yml has no inputs: ... runs: sections in that order")
	}
	want := file[:start+1] + renderIO() + "\n" + file[end+1:]
	if *update {
		if err := os.WriteFile(actionYML, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		file = want
	}
	if diff := cmp.Diff(want, file); diff != "" {
		t.Errorf("action.yml differs from the input table (-table +action.yml); run go test ./app -run TestActionYML -update:\n%s", diff)
	}

	var md struct {
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
	dec := yaml.NewDecoder(bytes.NewReader([]byte(file)))
	dec.KnownFields(true)
	if err := dec.Decode(&md); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if md.Name == "" || md.Description == "" || md.Branding.Icon == "" || md.Branding.Color == "" {
		t.Errorf("action.yml needs a name, a description and branding (icon, color): %+v", md)
	}
	for _, in := range Inputs {
		got, ok := md.Inputs[in.Name]
		if in.CLIOnly {
			if ok {
				t.Errorf("input %s is the CLI's only, but action.yml declares it", in.Name)
			}
			continue
		}
		if !ok || got.Default == nil || *got.Default != in.Default || got.Description != strings.Join(strings.Fields(in.Description), " ") {
			t.Errorf("input %s: action.yml reads as %+v", in.Name, got)
		}
	}
	if md.Runs.Using != "docker" {
		t.Errorf("runs.using = %q, want docker", md.Runs.Using)
	}
	if !pinLine.MatchString(file) || len(pinLine.FindAllString(file, -1)) != 1 {
		t.Errorf("action.yml must hold exactly one line %q (the workflows rewrite it); runs.image is %q", pinLine, md.Runs.Image)
	}
}

// pinLine is the one line of action.yml that names the image: the
// Dockerfile on main, which the release workflow rewrites to the released
// image's digest.
var pinLine = regexp.MustCompile(`(?m)^  image: (Dockerfile|docker://ghcr\.io/sigil-dev/sigil@sha256:[0-9a-f]{64})$`)

// TestInputTable checks the table itself: names unique, every input of a
// known kind read by some mode, documented for the front ends it serves,
// and defaults that the readers accept.
func TestInputTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, in := range Inputs {
		if seen[in.Name] {
			t.Errorf("input %s declared twice", in.Name)
		}
		seen[in.Name] = true
		if len(in.Modes) == 0 || in.Usage == "" || (!in.CLIOnly && in.Description == "") {
			t.Errorf("input %s: needs modes, a flag usage and (unless CLI-only) a description", in.Name)
		}
		if in.ModeDefault != nil && in.Default != "" {
			t.Errorf("input %s: a default per mode and one for all", in.Name)
		}
	}
	for _, s := range []setting.Setting{setting.Format, setting.Annotations, setting.Concurrency, setting.SigningConfig,
		setting.FulcioURL, setting.RekorURL, setting.TSAURL, setting.TrustedRoot, setting.Credentials, setting.GitHubToken, setting.AllowPublicLog} {
		if !seen[string(s)] {
			t.Errorf("the engines name setting %s, which is no input", s)
		}
	}
	// Every mode reads its defaults without error, from either front end.
	for _, m := range allModes {
		fs := pflag.NewFlagSet(string(m), pflag.ContinueOnError)
		addFlags(fs, m)
		fes := map[string]frontEnd{
			"action": actionInputs{rt: mustRuntime(t, nil), getenv: func(string) string { return "" }},
			"cli":    cliFlags{mode: m, flags: fs, getenv: func(string) string { return "" }},
		}
		for name, fe := range fes {
			var err error
			switch m {
			case ModeSign:
				_, err = readSign(fe)
			case ModeVerify:
				_, err = readVerify(fe)
				if err != nil && strings.Contains(err.Error(), "no identity to check") {
					err = nil // the one thing verify cannot default
				}
			case ModeMerge:
				_, err = readMerge(fe)
			}
			if err != nil {
				t.Errorf("%s %s with defaults only: %v", name, m, err)
			}
		}
	}
}

func TestOutputsAreDeclared(t *testing.T) {
	t.Parallel()
	rt := mustRuntime(t, nil)
	if err := publish(rt, "", output{"not-declared", "x"}); err == nil || !strings.Contains(err.Error(), "not-declared") {
		t.Errorf("publish wrote an output the table does not declare: %v", err)
	}
	names := func(outs []Output) []string {
		var n []string
		for _, o := range outs {
			n = append(n, o.Name)
		}
		return n
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names(Outputs))))) != len(Outputs) {
		t.Errorf("an output is declared twice: %v", names(Outputs))
	}
}
