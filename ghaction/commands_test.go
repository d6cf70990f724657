package ghaction

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(r *Runtime) error
		want string
	}{
		{"mask", func(r *Runtime) error { return r.AddMask("s3cr3t") }, "::add-mask::s3cr3t\n"},
		{"mask escapes", func(r *Runtime) error { return r.AddMask("50%:a,b") }, "::add-mask::50%25:a,b\n"},
		{
			"mask multi-line line by line",
			func(r *Runtime) error {
				return r.AddMask("-----BEGIN KEY-----\r\nabc\r\n\n  \n-----END KEY-----\n")
			},
			"::add-mask::-----BEGIN KEY-----\n::add-mask::abc\n::add-mask::-----END KEY-----\n",
		},
		{"mask blank", func(r *Runtime) error { return r.AddMask(" \n\t") }, ""},
		{"group", func(r *Runtime) error { return r.Group("Signing 3 images") }, "::group::Signing 3 images\n"},
		{"endgroup", func(r *Runtime) error { return r.EndGroup() }, "::endgroup::\n"},
		{"debug", func(r *Runtime) error { return r.Debugf("resolved %s to %s", "v1", "sha256:ab") }, "::debug::resolved v1 to sha256:ab\n"},
		{"error", func(r *Runtime) error { return r.Errorf("%d of %d failed", 1, 2) }, "::error::1 of 2 failed\n"},
		{"warning", func(r *Runtime) error { return r.Warningf("no referrers API") }, "::warning::no referrers API\n"},
		{"notice", func(r *Runtime) error { return r.Noticef("100%% done") }, "::notice::100%25 done\n"},
		{
			"annotation with properties",
			func(r *Runtime) error {
				return r.Annotate(LevelError, Annotation{Title: "Bad: input, really", File: "a,b:c.yml", Line: 3, EndLine: 4, Col: 1, EndColumn: 9}, "line 1\r\nline 2")
			},
			"::error col=1,endColumn=9,endLine=4,file=a%2Cb%3Ac.yml,line=3,title=Bad%3A input%2C really::line 1%0D%0Aline 2\n",
		},
		{
			"annotation zero properties left out",
			func(r *Runtime) error { return r.Annotate(LevelWarning, Annotation{File: "x.go"}, "m") },
			"::warning file=x.go::m\n",
		},
		{
			"injection in a message stays on its line",
			func(r *Runtime) error { return r.Errorf("%s", "x\n::add-mask::y\r::set-output name=a::b%0A") },
			"::error::x%0A::add-mask::y%0D::set-output name=a::b%250A\n",
		},
		{"log plain", func(r *Runtime) error { return r.Logf("signed %s", "ghcr.io/o/r@sha256:ab") }, "signed ghcr.io/o/r@sha256:ab\n"},
		{"log keeps final newline", func(r *Runtime) error { return r.Logf("a\nb\n") }, "a\nb\n"},
		{
			"log stops commands around ::",
			func(r *Runtime) error { return r.Logf("identity: x\n::set-output name=a::b") },
			"::stop-commands::sigil-stop-00010203-0405-4607-8809-0a0b0c0d0e0f\nidentity: x\n::set-output name=a::b\n::sigil-stop-00010203-0405-4607-8809-0a0b0c0d0e0f::\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, stdout := newTestRuntime(t, testEnv{})
			if err := tt.run(r); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, stdout.String()); diff != "" {
				t.Errorf("stdout mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnnotateUnknownLevel(t *testing.T) {
	t.Parallel()
	r, stdout := newTestRuntime(t, testEnv{})
	err := r.Annotate(Level("set-output name=x"), Annotation{}, "y")
	if diff := cmp.Diff(`ghaction: unknown annotation level "set-output name=x"`, errString(err)); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
	if stdout.Len() != 0 {
		t.Errorf("wrote %q", stdout)
	}
}

func TestLogfRefusesTextHoldingItsToken(t *testing.T) {
	t.Parallel()
	r, stdout := newTestRuntime(t, testEnv{})
	err := r.Logf("::sigil-stop-00010203-0405-4607-8809-0a0b0c0d0e0f::")
	if err == nil || stdout.Len() != 0 {
		t.Errorf("Logf = %v and wrote %q; want an error and nothing written", err, stdout)
	}
}

func TestCommandWriteErrors(t *testing.T) {
	t.Parallel()
	r, _ := newTestRuntime(t, testEnv{}, WithStdout(failWriter{}))
	for name, err := range map[string]error{
		"AddMask":  r.AddMask("x"),
		"Group":    r.Group("x"),
		"EndGroup": r.EndGroup(),
		"Errorf":   r.Errorf("x"),
		"Debugf":   r.Debugf("x"),
		"Logf":     r.Logf("x"),
	} {
		if !errors.Is(err, errWrite) {
			t.Errorf("%s error = %v, want %v", name, err, errWrite)
		}
	}
}

// unescapeData reverses the toolkit's escapeData (and, with property set,
// escapeProperty).
func unescapeData(s string, property bool) string {
	pairs := []string{"%0D", "\r", "%0A", "\n"}
	if property {
		pairs = append(pairs, "%3A", ":", "%2C", ",")
	}
	pairs = append(pairs, "%25", "%")
	return strings.NewReplacer(pairs...).Replace(s)
}

// FuzzCommandEscaping checks that whatever the message and property values,
// an annotation is exactly one line that the runner reads back as the same
// command, message and title, and that add-mask only ever writes add-mask
// lines.
func FuzzCommandEscaping(f *testing.F) {
	for _, s := range []string{"", "plain", "a\nb", "a\r\nb", "%0A", "::error::x", "x::y,z:w", "%", "\r", "50%25"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, message, title string) {
		r, stdout := newTestRuntime(t, testEnv{})
		if err := r.Annotate(LevelWarning, Annotation{Title: title}, message); err != nil {
			t.Fatal(err)
		}
		line := stdout.String()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") || strings.Contains(line, "\r") {
			t.Fatalf("annotation is not exactly one line: %q", line)
		}
		line = strings.TrimSuffix(line, "\n")
		rest, ok := strings.CutPrefix(line, "::warning")
		if !ok {
			t.Fatalf("line %q does not start with ::warning", line)
		}
		var gotTitle string
		if props, ok := strings.CutPrefix(rest, " "); ok {
			// The properties end at the first "::": escaped values hold no ':'.
			p, msg, found := strings.Cut(props, "::")
			if !found {
				t.Fatalf("no end of properties in %q", line)
			}
			if strings.ContainsAny(p, ",:") && !strings.HasPrefix(p, "title=") {
				t.Fatalf("unexpected properties %q", p)
			}
			gotTitle = unescapeData(strings.TrimPrefix(p, "title="), true)
			rest = "::" + msg
		}
		msg, ok := strings.CutPrefix(rest, "::")
		if !ok {
			t.Fatalf("no message separator in %q", line)
		}
		if got := unescapeData(msg, false); got != message {
			t.Fatalf("message read back as %q, want %q", got, message)
		}
		if gotTitle != title {
			t.Fatalf("title read back as %q, want %q", gotTitle, title)
		}

		stdout.Reset()
		if err := r.AddMask(message); err != nil {
			t.Fatal(err)
		}
		for l := range strings.SplitSeq(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
			if stdout.Len() > 0 && (!strings.HasPrefix(l, "::add-mask::") || strings.Contains(l, "\r")) {
				t.Fatalf("add-mask of %q wrote line %q", message, l)
			}
		}

		stdout.Reset()
		if err := r.Logf("%s", message); err != nil {
			return // the text held the stop token: refused, nothing written
		}
		checkNoCommands(t, stdout.String())
	})
}

// checkNoCommands fails unless the only commands in log are the
// stop-commands pair Logf writes around it. Lines are split at '\n' and
// '\r' alike, and leading white space is ignored, as the runner may.
func checkNoCommands(t *testing.T, log string) {
	t.Helper()
	var stopped string
	lines := strings.FieldsFunc(log, func(r rune) bool { return r == '\n' || r == '\r' })
	for i, l := range lines {
		l = strings.TrimLeftFunc(l, unicode.IsSpace)
		switch {
		case stopped != "":
			if l == "::"+stopped+"::" && i != len(lines)-1 {
				t.Fatalf("commands resume before the end of %q", log)
			}
		case strings.HasPrefix(l, "::stop-commands::") && i == 0:
			stopped = strings.TrimPrefix(l, "::stop-commands::")
		case strings.HasPrefix(l, "::"):
			t.Fatalf("log %q runs the command %q", log, l)
		}
	}
}
