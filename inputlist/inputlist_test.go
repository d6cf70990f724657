package inputlist

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseListAndLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		parse func(string) []string
		text  string
		want  []string
	}{
		{name: "list empty", parse: ParseList, text: "", want: nil},
		{name: "list only blanks and comments", parse: ParseList, text: "\n  \n# a comment\n   # indented comment\r\n", want: nil},
		{name: "list one per line", parse: ParseList, text: "ghcr.io/a/b:v1\ndocker.io/a/b:v1\n", want: []string{"ghcr.io/a/b:v1", "docker.io/a/b:v1"}},
		{name: "list comma separated", parse: ParseList, text: "a, b ,c", want: []string{"a", "b", "c"}},
		{name: "list mixed with blank items", parse: ParseList, text: "a,,b,\n, c\n\n d ,", want: []string{"a", "b", "c", "d"}},
		{name: "list crlf", parse: ParseList, text: "a\r\nb\r\n", want: []string{"a", "b"}},
		{name: "list hash inside a line is kept", parse: ParseList, text: "dist/#1.tar.gz\na, #b", want: []string{"dist/#1.tar.gz", "a", "#b"}},
		{name: "list duplicates kept in order", parse: ParseList, text: "b\na\nb", want: []string{"b", "a", "b"}},
		{name: "lines empty", parse: ParseLines, text: "", want: nil},
		{name: "lines keep commas", parse: ParseLines, text: "dist/*.{tar.gz,zip}\n # comment\n\n  checksums.txt  \r\n", want: []string{"dist/*.{tar.gz,zip}", "checksums.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, tt.parse(tt.text)); diff != "" {
				t.Errorf("parsing %q mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestParseKeyValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		text    string
		want    map[string]string
		wantErr string
	}{
		{name: "empty", text: "", want: nil},
		{name: "comments only", text: "# org.opencontainers.image.source=x\n", want: nil},
		{
			name: "pairs",
			text: "org.opencontainers.image.source = https://github.com/o/r\n\nrelease=v1.2.3\nempty=\nexpr=a=b,c\n",
			want: map[string]string{
				"org.opencontainers.image.source": "https://github.com/o/r",
				"release":                         "v1.2.3",
				"empty":                           "",
				"expr":                            "a=b,c",
			},
		},
		{name: "missing equals", text: "a=b\n\nnope\n", wantErr: "line 3: missing '=': want key=value"},
		{name: "empty key", text: " = v", wantErr: "line 1: empty key: want key=value"},
		{name: "duplicate key", text: "a=1\n# x\na = 2", wantErr: `line 3: key "a" already given on line 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseKeyValues(tt.text)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("ParseKeyValues(%q) error mismatch (-want +got):\n%s", tt.text, diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseKeyValues(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func FuzzParseList(f *testing.F) {
	for _, s := range []string{"", "a,b\nc", " # x\n a ,, b\r\n", "a, #b", ",,\n,", "\xff,\u00a0a\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		items := ParseList(text)
		for _, item := range items {
			if item == "" || item != strings.TrimSpace(item) || strings.ContainsAny(item, ",\n") {
				t.Fatalf("ParseList(%q) returned item %q: empty, untrimmed or with a separator", text, item)
			}
		}
		// Joined by commas after a leading comma (so that an item starting
		// with '#' does not turn the line into a comment), the items parse
		// back to themselves.
		if again := ParseList("," + strings.Join(items, ",")); !slices.Equal(items, again) {
			t.Fatalf("ParseList(%q) = %q, but parsing its items joined by commas gives %q", text, items, again)
		}
		for _, l := range ParseLines(text) {
			if l == "" || l != strings.TrimSpace(l) || strings.Contains(l, "\n") || strings.HasPrefix(l, "#") {
				t.Fatalf("ParseLines(%q) returned line %q", text, l)
			}
		}
	})
}

func FuzzParseKeyValues(f *testing.F) {
	for _, s := range []string{"", "a=b\nc = d=e", "#a=b\n=x", "a=1\na=2", "k=\n", "\u00a0k\u00a0=v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		kv, err := ParseKeyValues(text)
		if err != nil {
			if kv != nil {
				t.Fatalf("ParseKeyValues(%q) returned %v with error %v", text, kv, err)
			}
			return
		}
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(kv)) {
			v := kv[k]
			if k == "" || k != strings.TrimSpace(k) || v != strings.TrimSpace(v) || strings.ContainsAny(k, "=\n") || strings.Contains(v, "\n") || strings.HasPrefix(k, "#") {
				t.Fatalf("ParseKeyValues(%q) returned bad pair %q=%q", text, k, v)
			}
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
		again, err := ParseKeyValues(b.String())
		if err != nil {
			t.Fatalf("reparsing %q: %v", b.String(), err)
		}
		if diff := cmp.Diff(kv, again); diff != "" {
			t.Fatalf("round trip of %q mismatch (-want +got):\n%s", text, diff)
		}
	})
}

func TestParseBool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		def     bool
		want    bool
		wantErr string
	}{
		{value: "true", want: true},
		{value: "True", want: true},
		{value: " TRUE\n", want: true},
		{value: "false", def: true, want: false},
		{value: "False", def: true, want: false},
		{value: "FALSE", def: true, want: false},
		{value: "", def: true, want: true},
		{value: "", def: false, want: false},
		{value: "yes", wantErr: `"yes" is not a boolean: want one of true, True, TRUE, false, False, FALSE`},
		{value: "tRUE", wantErr: `"tRUE" is not a boolean: want one of true, True, TRUE, false, False, FALSE`},
		{value: "1", wantErr: `"1" is not a boolean: want one of true, True, TRUE, false, False, FALSE`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			got, err := ParseBool(tt.value, tt.def)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("ParseBool error mismatch (-want +got):\n%s", diff)
			}
			if got != tt.want {
				t.Errorf("ParseBool = %v, want %v", got, tt.want)
			}
		})
	}
}
