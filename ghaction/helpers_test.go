package ghaction

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// seqReader is a deterministic source of "randomness": 0, 1, 2, ... 255, 0, ...
type seqReader struct{ next byte }

func (s *seqReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = s.next
		s.next++
	}
	return len(p), nil
}

// testEnv is a fake environment; unset names read as "".
type testEnv map[string]string

func (e testEnv) getenv(k string) string { return e[k] }

// newTestRuntime returns a Runtime reading env, writing commands to the
// returned buffer, with deterministic randomness and no backoff. Extra
// options come last and win.
func newTestRuntime(t testing.TB, env testEnv, opts ...Option) (*Runtime, *bytes.Buffer) {
	t.Helper()
	var stdout bytes.Buffer
	base := []Option{
		WithGetenv(env.getenv),
		WithStdout(&stdout),
		WithRandom(&seqReader{}),
		WithBackoff(func(int) time.Duration { return 0 }),
	}
	r, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, &stdout
}

// fileEnv returns an environment whose GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
// name fresh files in a temporary directory, and the two paths.
func fileEnv(t testing.TB) (env testEnv, output, summary string) {
	t.Helper()
	dir := t.TempDir()
	output = filepath.Join(dir, "output")
	summary = filepath.Join(dir, "summary")
	for _, p := range []string{output, summary} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return testEnv{"GITHUB_OUTPUT": output, "GITHUB_STEP_SUMMARY": summary}, output, summary
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkGolden compares got with testdata/name, or rewrites the file with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readFile(t, path)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s\n(run go test -update to accept)", path, diff)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// output is one name/value pair read back from an output file.

func TestParseOutputFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		text    string
		want    []Output
		wantErr bool
	}{
		{name: "plain", text: "a=b\n\nc=d=e\n", want: []Output{{"a", "b"}, {"c", "d=e"}}},
		{name: "heredoc", text: "a<<X\nline 1\nline 2\nX\nb<<X\n\nX\nc<<X\nv\n\nX\n", want: []Output{{"a", "line 1\nline 2"}, {"b", ""}, {"c", "v\n"}}},
		{name: "a value holding a fixed delimiter forges an output", text: "a<<EOF\nx\nEOF\nforged=1\n", want: []Output{{"a", "x"}, {"forged", "1"}}},
		{name: "no delimiter", text: "a<<X\nvalue\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseOutputFile(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseOutputFile error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseOutputFile mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

var errWrite = errors.New("disk full")

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestParseOutputsRefusesShadowing(t *testing.T) {
	t.Parallel()
	if _, err := ParseOutputs("a<<X\n1\nX\na=2\n"); err == nil {
		t.Error("an output written twice was accepted")
	}
	m, err := ParseOutputs("a<<X\n1\nX\nb=2\n")
	if err != nil || m["a"] != "1" || m["b"] != "2" {
		t.Errorf("ParseOutputs = %v, %v", m, err)
	}
}
