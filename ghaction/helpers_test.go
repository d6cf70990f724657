package ghaction

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
type output struct{ Name, Value string }

// parseOutputFile reads an output file exactly as the runner does on Linux
// (actions/runner, FileCommandManager.cs: name=value lines and
// name<<DELIMITER heredocs, lines split at '\n' only, the delimiter line
// compared exactly).
func parseOutputFile(text string) ([]output, error) {
	var outs []output
	index := 0
	// readLine returns the next line, whether it ended in '\n', and false
	// at the end of text.
	readLine := func() (string, bool, bool) {
		if index >= len(text) {
			return "", false, false
		}
		start := index
		lf := strings.IndexByte(text[index:], '\n')
		if lf < 0 {
			index = len(text)
			return text[start:], false, true
		}
		index += lf + 1
		return text[start : index-1], true, true
	}
	for {
		line, _, ok := readLine()
		if !ok {
			return outs, nil
		}
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case eq >= 0 && (hd < 0 || eq < hd):
			name, value, _ := strings.Cut(line, "=")
			outs = append(outs, output{name, value})
		case hd >= 0 && (eq < 0 || hd < eq):
			name, delim, _ := strings.Cut(line, "<<")
			if name == "" || delim == "" {
				return nil, fmt.Errorf("invalid format %q", line)
			}
			start, end := index, index
			for {
				l, nl, ok := readLine()
				if !ok {
					return nil, fmt.Errorf("matching delimiter not found %q", delim)
				}
				if l == delim {
					break
				}
				if !nl {
					return nil, fmt.Errorf("value line %q has no newline and no delimiter follows", l)
				}
				end = index - 1
			}
			value := ""
			if end > start {
				value = text[start:end]
			}
			outs = append(outs, output{name, value})
		default:
			return nil, fmt.Errorf("invalid format %q", line)
		}
	}
}

func TestParseOutputFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		text    string
		want    []output
		wantErr bool
	}{
		{name: "plain", text: "a=b\n\nc=d=e\n", want: []output{{"a", "b"}, {"c", "d=e"}}},
		{name: "heredoc", text: "a<<X\nline 1\nline 2\nX\nb<<X\n\nX\nc<<X\nv\n\nX\n", want: []output{{"a", "line 1\nline 2"}, {"b", ""}, {"c", "v\n"}}},
		{name: "a value holding a fixed delimiter forges an output", text: "a<<EOF\nx\nEOF\nforged=1\n", want: []output{{"a", "x"}, {"forged", "1"}}},
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
