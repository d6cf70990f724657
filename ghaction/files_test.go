package ghaction

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSetOutput(t *testing.T) {
	t.Parallel()
	const delim0 = "ghadelimiter_00010203-0405-4607-8809-0a0b0c0d0e0f"
	tests := []struct {
		name, outName, value string
		wantFile             string
		wantErr              string
	}{
		{name: "single line", outName: "digest", value: "sha256:ab", wantFile: "digest<<" + delim0 + "\nsha256:ab\n" + delim0 + "\n"},
		{name: "empty value", outName: "empty", value: "", wantFile: "empty<<" + delim0 + "\n\n" + delim0 + "\n"},
		{name: "multi-line with a fixed delimiter inside", outName: "json", value: "{\n}\nEOF\n_GitHubActionsFileCommandDelimeter_\nforged=1", wantFile: "json<<" + delim0 + "\n{\n}\nEOF\n_GitHubActionsFileCommandDelimeter_\nforged=1\n" + delim0 + "\n"},
		{name: "hyphen and digits", outName: "rekor-log-index_2", value: "7", wantFile: "rekor-log-index_2<<" + delim0 + "\n7\n" + delim0 + "\n"},
		{name: "value holding the delimiter", outName: "x", value: "a\n" + delim0 + "\nforged=1", wantErr: `setting output x: unexpected input: it contains the random delimiter "` + delim0 + `"`},
		{name: "empty name", outName: "", value: "v", wantErr: `output name "" is not valid: want a letter or '_' followed by letters, digits, '_' or '-'`},
		{name: "name with newline", outName: "a\nforged", value: "v", wantErr: `output name "a\nforged" is not valid: want a letter or '_' followed by letters, digits, '_' or '-'`},
		{name: "name with heredoc", outName: "a<<X", value: "v", wantErr: `output name "a<<X" is not valid: want a letter or '_' followed by letters, digits, '_' or '-'`},
		{name: "name ending in <", outName: "a<", value: "v", wantErr: `output name "a<" is not valid: want a letter or '_' followed by letters, digits, '_' or '-'`},
		{name: "name with equals", outName: "a=b", value: "v", wantErr: `output name "a=b" is not valid: want a letter or '_' followed by letters, digits, '_' or '-'`},
		{name: "name starting with a digit", outName: "1a", value: "v", wantErr: `output name "1a" is not valid: want a letter or '_' followed by letters, digits, '_' or '-'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, outPath, _ := fileEnv(t)
			r, stdout := newTestRuntime(t, env)
			err := r.SetOutput(tt.outName, tt.value)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("SetOutput error mismatch (-want +got):\n%s", diff)
			}
			got := readFile(t, outPath)
			if diff := cmp.Diff(tt.wantFile, got); diff != "" {
				t.Errorf("GITHUB_OUTPUT mismatch (-want +got):\n%s", diff)
			}
			if stdout.Len() != 0 {
				t.Errorf("SetOutput wrote %q to stdout", stdout)
			}
			if err != nil {
				return
			}
			outs, err := parseOutputFile(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]Output{{tt.outName, tt.value}}, outs); diff != "" {
				t.Errorf("outputs read back mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetOutputFreshDelimiterEachTime(t *testing.T) {
	t.Parallel()
	env, outPath, _ := fileEnv(t)
	r, _ := newTestRuntime(t, env)
	for _, v := range []string{"one", "two"} {
		if err := r.SetOutput("n", v); err != nil {
			t.Fatal(err)
		}
	}
	got := readFile(t, outPath)
	want := "n<<ghadelimiter_00010203-0405-4607-8809-0a0b0c0d0e0f\none\nghadelimiter_00010203-0405-4607-8809-0a0b0c0d0e0f\n" +
		"n<<ghadelimiter_10111213-1415-4617-9819-1a1b1c1d1e1f\ntwo\nghadelimiter_10111213-1415-4617-9819-1a1b1c1d1e1f\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GITHUB_OUTPUT mismatch (-want +got):\n%s", diff)
	}
}

func TestSetOutputWithoutOutputFile(t *testing.T) {
	t.Parallel()
	r, stdout := newTestRuntime(t, testEnv{})
	err := r.SetOutput("digest", "sha256:ab")
	if !errors.Is(err, ErrNoOutputFile) {
		t.Errorf("SetOutput error = %v, want ErrNoOutputFile", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("SetOutput wrote %q to stdout", stdout)
	}
}

func TestFileErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no", "such", "dir")
	r, _ := newTestRuntime(t, testEnv{"GITHUB_OUTPUT": missing, "GITHUB_STEP_SUMMARY": missing})
	if err := r.SetOutput("a", "b"); err == nil || !strings.HasPrefix(err.Error(), "setting output a: open ") {
		t.Errorf("SetOutput error = %v", err)
	}
	if err := r.AppendSummary("x"); err == nil || !strings.HasPrefix(err.Error(), "writing step summary: open ") {
		t.Errorf("AppendSummary error = %v", err)
	}
	r, _ = newTestRuntime(t, testEnv{"GITHUB_OUTPUT": filepath.Join(t.TempDir(), "out")}, WithRandom(strings.NewReader("short")))
	if err := r.SetOutput("a", "b"); err == nil || !strings.HasPrefix(err.Error(), "setting output a: reading random bytes: ") {
		t.Errorf("SetOutput error = %v", err)
	}
}

func TestAppendSummary(t *testing.T) {
	t.Parallel()
	r, _ := newTestRuntime(t, testEnv{})
	if err := r.AppendSummary("# not on a runner"); err != nil {
		t.Errorf("AppendSummary without GITHUB_STEP_SUMMARY = %v, want nil", err)
	}

	env, _, summaryPath := fileEnv(t)
	r, _ = newTestRuntime(t, env)
	for _, md := range []string{"## Signed", "| a | b |\n|---|---|\n", ""} {
		if err := r.AppendSummary(md); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff("## Signed\n| a | b |\n|---|---|\n\n", readFile(t, summaryPath)); diff != "" {
		t.Errorf("summary mismatch (-want +got):\n%s", diff)
	}
}

// FuzzSetOutput checks that whatever the name and value, SetOutput either
// refuses them and writes nothing, or writes a file from which the runner
// reads exactly that one output.
func FuzzSetOutput(f *testing.F) {
	for _, s := range [][2]string{
		{"digest", "sha256:ab"},
		{"json", "{\n}\n"},
		{"a", "x\nEOF\nforged=1"},
		{"a=b", "c"},
		{"a<", "<b"},
		{"x", "\r\n\r\n"},
		{"_-", ""},
	} {
		f.Add(s[0], s[1], []byte("0123456789abcdef"))
	}
	// With these random bytes the delimiter is the one in the value.
	f.Add("n", "x\nghadelimiter_00010203-0405-4607-8809-0a0b0c0d0e0f\nforged=1", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Fuzz(func(t *testing.T, name, value string, random []byte) {
		env, outPath, _ := fileEnv(t)
		r, stdout := newTestRuntime(t, env, WithRandom(strings.NewReader(string(random))))
		err := r.SetOutput(name, value)
		got := readFile(t, outPath)
		if stdout.Len() != 0 {
			t.Fatalf("SetOutput wrote %q to stdout", stdout)
		}
		if err != nil {
			if got != "" {
				t.Fatalf("SetOutput(%q, %q) failed (%v) but wrote %q", name, value, err, got)
			}
			return
		}
		outs, err := parseOutputFile(got)
		if err != nil {
			t.Fatalf("runner would fail on %q: %v", got, err)
		}
		if diff := cmp.Diff([]Output{{name, value}}, outs); diff != "" {
			t.Fatalf("outputs read back mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestConcurrentWritesStayWhole(t *testing.T) {
	t.Parallel()
	env, outPath, _ := fileEnv(t)
	r, stdout := newTestRuntime(t, env)
	const n = 32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := r.SetOutput(fmt.Sprintf("out%d", i), fmt.Sprintf("line 1 of %d\nline 2 of %d", i, i)); err != nil {
				t.Error(err)
			}
			if err := r.Debugf("step %d\nsecond line", i); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	outs, err := parseOutputFile(readFile(t, outPath))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != n {
		t.Errorf("read back %d outputs, want %d", len(outs), n)
	}
	for _, o := range outs {
		var i int
		if _, err := fmt.Sscanf(o.Name, "out%d", &i); err != nil || o.Value != fmt.Sprintf("line 1 of %d\nline 2 of %d", i, i) {
			t.Errorf("output %q = %q", o.Name, o.Value)
		}
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != n {
		t.Errorf("stdout has %d lines, want %d", len(lines), n)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "::debug::step ") || !strings.HasSuffix(l, "%0Asecond line") {
			t.Errorf("stdout line %q", l)
		}
	}
}
