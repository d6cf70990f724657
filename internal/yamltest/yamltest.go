// Package yamltest reads generated YAML in tests: a file's documents, and
// a value found along a path of keys and indexes.
package yamltest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Docs parses b into its YAML documents, failing the test if it does not
// parse.
func Docs(t testing.TB, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("generated YAML does not parse: %v\n%s", err, b)
		}
		out = append(out, m)
	}
}

// Get walks m along path: map keys (strings) and list indexes (ints). It
// fails the test where the path leads nowhere.
func Get(t testing.TB, m any, path ...any) any {
	t.Helper()
	cur := m
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %T is not a map", path, cur)
			}
			cur = mm[k]
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: %T has no item %d", path, cur, k)
			}
			cur = l[k]
		}
	}
	return cur
}
