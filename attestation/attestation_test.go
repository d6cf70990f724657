package attestation

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAssignments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []Assignment
		wantErr  []string
	}{
		{"empty", "\n  \n# comment\n", nil, nil},
		{"lines", "ghcr.io/org/app:v1=sbom/app.spdx.json\n  */org/cli:* = sbom/cli.cdx.json \ndist/*.tar.gz=sbom/dist.spdx.json\nall.spdx.json", []Assignment{
			{Line: 1, Pattern: "ghcr.io/org/app:v1", Path: "sbom/app.spdx.json"},
			{Line: 2, Pattern: "*/org/cli:*", Path: "sbom/cli.cdx.json"},
			{Line: 3, Pattern: "dist/*.tar.gz", Path: "sbom/dist.spdx.json"},
			{Line: 4, Path: "all.spdx.json"},
		}, nil},
		{"a path with '='", "app=a=b.json", []Assignment{{Line: 1, Pattern: "app", Path: "a=b.json"}}, nil},
		{"errors, all at once", "=x.json\napp=\napp=a.json\napp = a.json\n", nil, []string{
			"line 1: nothing before '='", "line 2: no document after '='", "line 4: app=a.json already given on line 3",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAssignments(tc.in)
			if tc.wantErr != nil {
				for _, w := range tc.wantErr {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("error %v, want one with %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	images := []string{"ghcr.io/org/app:v1", "docker.io/org/app:v1", "ghcr.io/org/cli:v1", "nginx"}
	files := []string{"dist/app.tar.gz", "dist/checksums.txt"}
	tests := []struct {
		name, in   string
		wantImages [][]string
		wantFiles  [][]string
		wantErr    string
	}{
		{"an exact reference", "ghcr.io/org/app:v1=a.json", [][]string{{"ghcr.io/org/app:v1"}}, [][]string{nil}, ""},
		{"one image on both registries", "*/org/app:*=a.json", [][]string{{"ghcr.io/org/app:v1", "docker.io/org/app:v1"}}, [][]string{nil}, ""},
		{"the normalized name", "index.docker.io/library/nginx:latest=n.json", [][]string{{"nginx"}}, [][]string{nil}, ""},
		{"files", "dist/*.tar.gz=d.json\n./dist/checksums.txt=c.json", [][]string{nil, nil}, [][]string{{"dist/app.tar.gz"}, {"dist/checksums.txt"}}, ""},
		{"everything", "all.json", [][]string{images}, [][]string{files}, ""},
		{"a typo", "ghcr.io/org/ap:v1=a.json", nil, nil, "line 1: ghcr.io/org/ap:v1=a.json names no image or file of this step (images: ghcr.io/org/app:v1, docker.io/org/app:v1, ghcr.io/org/cli:v1, nginx; files: dist/app.tar.gz, dist/checksums.txt)"},
		{"a regexp character is literal", "ghcr.io/org/app.v1=a.json", nil, nil, "names no image or file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			as, err := ParseAssignments(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Match(as, images, files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotImages, gotFiles [][]string
			for _, m := range got {
				gotImages, gotFiles = append(gotImages, m.Images), append(gotFiles, m.Files)
			}
			if diff := cmp.Diff(tc.wantImages, gotImages); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantFiles, gotFiles); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

const (
	spdxDoc = `{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "app", "packages": []}`
	cdxDoc  = `{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []}`
)

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadSBOM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content string
		wantType, wantKind  string
		wantErr             string
	}{
		{"SPDX", "sbom.spdx.json", spdxDoc, SPDXPredicateType, "SPDX 2.3", ""},
		{"CycloneDX", "bom.cdx.json", cdxDoc, CycloneDXPredicateType, "CycloneDX 1.6", ""},
		{"CycloneDX, any name", "sbom.json", cdxDoc, CycloneDXPredicateType, "CycloneDX 1.6", ""},
		{"named SPDX, holding CycloneDX", "app.spdx.json", cdxDoc, "", "", "its name says SPDX, but the document is CycloneDX 1.6 JSON"},
		{"SPDX without SPDXID", "a.json", `{"spdxVersion":"SPDX-2.3"}`, "", "", "declares SPDX (spdxVersion SPDX-2.3) but has no SPDXID"},
		{"SPDX 3", "a.json", `{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[]}`, "", "", "SPDX 3 JSON-LD"},
		{"SPDX 1.2", "a.json", `{"spdxVersion":"SPDX-1.2","SPDXID":"x"}`, "", "", "only SPDX 2.x JSON"},
		{"CycloneDX without specVersion", "a.json", `{"bomFormat":"CycloneDX"}`, "", "", "has no specVersion"},
		{"another bomFormat", "a.json", `{"bomFormat":"cyclonedx","specVersion":"1.5"}`, "", "", `bomFormat is "cyclonedx"`},
		{"SPDX tag-value", "a.spdx", "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n", "", "", "is not valid JSON"},
		{"truncated JSON", "a.json", spdxDoc[:40], "", "", "is not valid JSON"},
		{"a JSON array", "a.json", `[` + spdxDoc + `]`, "", "", "not a JSON object"},
		{"null", "a.json", `null`, "", "", "not a JSON object"},
		{"neither", "a.json", `{"name":"x"}`, "", "", "neither SPDX JSON"},
		{"not UTF-8", "a.json", "{\"spdxVersion\":\"\xff\"}", "", "", "not UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := write(t, tc.file, tc.content)
			p, err := ReadSBOM(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("ReadSBOM: error %v, want one naming %s with %q", err, path, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Type != tc.wantType || p.Kind != tc.wantKind || p.Path != path {
				t.Errorf("ReadSBOM = type %q kind %q path %q, want %q %q %q", p.Type, p.Kind, p.Path, tc.wantType, tc.wantKind, path)
			}
			if !json.Valid(p.JSON) || strings.ContainsAny(string(p.JSON), "\n ") && !strings.Contains(tc.content, `": "`) {
				t.Errorf("JSON not compacted: %s", p.JSON)
			}
		})
	}
	if _, err := ReadSBOM(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("ReadSBOM(missing): %v", err)
	}
}

func TestReadPredicate(t *testing.T) {
	t.Parallel()
	path := write(t, "result.json", `{ "passed": true }`)
	p, err := ReadPredicate(path, "https://example.com/test-result/v1")
	if err != nil {
		t.Fatal(err)
	}
	if string(p.JSON) != `{"passed":true}` || p.Kind != KindCustom {
		t.Errorf("ReadPredicate = %s %s", p.JSON, p.Kind)
	}
	for _, bad := range []string{"", "test-result", "/relative/uri", "https://example.com/a b"} {
		if _, err := ReadPredicate(path, bad); err == nil || !strings.Contains(err.Error(), "want an absolute URI") {
			t.Errorf("ReadPredicate(type %q): %v, want it refused", bad, err)
		}
	}
}

func TestStatement(t *testing.T) {
	t.Parallel()
	sub, err := SubjectFor("ghcr.io/org/app", "sha256:"+strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ReadSBOM(write(t, "a.spdx.json", spdxDoc))
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Statement([]Subject{sub}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"ghcr.io/org/app","digest":{"sha256":"` + strings.Repeat("ab", 32) +
		`"}}],"predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app","packages":[]}}`
	if diff := cmp.Diff(want, string(st)); diff != "" {
		t.Errorf("statement (-want +got):\n%s", diff)
	}
	back, err := ParseStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sha256:" + strings.Repeat("ab", 32)}, back.Digests()); diff != "" {
		t.Errorf("Digests (-want +got):\n%s", diff)
	}

	// A predicate the Rekor v2 log would refuse, but a Rekor v1 log takes.
	big := `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","comment":"` + strings.Repeat("x", int(MaxStatementSize(2))) + `"}`
	bp, err := ReadSBOM(write(t, "big.spdx.json", big))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bp.Statement([]Subject{sub}, 2)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 3096576 || tl.Log != "Rekor v2" || !strings.Contains(err.Error(), "big.spdx.json") || !strings.Contains(err.Error(), "3096576 (3.0 MiB) a Rekor v2 log accepts") {
		t.Errorf("Statement(Rekor v2) of a %d-byte SBOM: %v, want a TooLargeError naming the file and the limit", len(big), err)
	}
	if _, err := bp.Statement([]Subject{sub}, 1); err != nil {
		t.Errorf("Statement(Rekor v1): %v", err)
	}
	// A file larger than any log takes is not even read whole.
	huge := write(t, "huge.json", "")
	if err := os.Truncate(huge, MaxStatementSize(1)+1); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSBOM(huge); !errors.As(err, &tl) || tl.Limit != 18408960 {
		t.Errorf("ReadSBOM(huge): %v, want a TooLargeError with the Rekor v1 limit", err)
	}

	for _, bad := range []struct {
		subjects []Subject
		typ      string
		pred     string
		want     string
	}{
		{nil, SPDXPredicateType, `{}`, "at least one subject"},
		{[]Subject{{Name: "x"}}, SPDXPredicateType, `{}`, "has no digest"},
		{[]Subject{sub}, "spdx", `{}`, "absolute URI"},
		{[]Subject{sub}, SPDXPredicateType, `[1]`, "not a JSON object"},
		{[]Subject{sub}, SPDXPredicateType, `{`, "not JSON"},
	} {
		if _, err := NewStatement(bad.subjects, bad.typ, []byte(bad.pred)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("NewStatement(%v, %q, %s): %v, want %q", bad.subjects, bad.typ, bad.pred, err, bad.want)
		}
	}
	for _, bad := range []string{"sha256", "sha256:", ":ab", "sha256:AB", "sha256:xyz"} {
		if _, err := SubjectFor("x", bad); err == nil {
			t.Errorf("SubjectFor(%q): no error", bad)
		}
	}
}

func TestPredicateTypes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"provenance": ProvenancePredicateType, "spdx": SPDXPredicateType, "cyclonedx": CycloneDXPredicateType,
		"https://example.com/x/v1": "https://example.com/x/v1", "urn:example:x": "urn:example:x",
	} {
		if got, err := ExpandPredicateType(in); err != nil || got != want {
			t.Errorf("ExpandPredicateType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ExpandPredicateType("slsa"); err == nil || !strings.Contains(err.Error(), "or one of provenance, spdx, cyclonedx") {
		t.Errorf("ExpandPredicateType(slsa): %v", err)
	}
	for _, tc := range []struct {
		required, found string
		want            bool
	}{
		{SPDXPredicateType, SPDXPredicateType, true},
		{SPDXPredicateType, "https://spdx.dev/Document/v2.3", true},
		{"https://spdx.dev/Document/v2.3", SPDXPredicateType, false},
		{ProvenancePredicateType, SPDXPredicateType, false},
		{ProvenancePredicateType, "https://slsa.dev/provenance/v0.2", false},
	} {
		if got := MatchesPredicateType(tc.required, tc.found); got != tc.want {
			t.Errorf("MatchesPredicateType(%q, %q) = %v", tc.required, tc.found, got)
		}
	}
}

func FuzzParseAssignments(f *testing.F) {
	f.Add("ghcr.io/org/app:v1=a.json\n*/org/*=b.json\nall.json\n#x\n=y")
	f.Add("a=b=c\n\x00=d")
	images := []string{"ghcr.io/org/app:v1", "nginx", "docker.io/org/app@sha256:" + strings.Repeat("0", 64)}
	files := []string{"dist/a.tar.gz", "b"}
	f.Fuzz(func(t *testing.T, text string) {
		as, err := ParseAssignments(text)
		if err != nil {
			return
		}
		for _, a := range as {
			if a.Path == "" || a.Line < 1 || strings.ContainsAny(a.Pattern+a.Path, "\n") {
				t.Errorf("ParseAssignments(%q) gave %+v", text, a)
			}
		}
		ms, err := Match(as, images, files)
		if err == nil && len(ms) != len(as) {
			t.Errorf("Match kept %d of %d assignments without an error", len(ms), len(as))
		}
		for _, m := range ms {
			if len(m.Images)+len(m.Files) == 0 {
				t.Errorf("Match gave %+v, naming nothing", m)
			}
		}
	})
}

func FuzzParseStatement(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"ab"}}],"predicateType":"x","predicate":{}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"digest":null}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseStatement(raw)
		if err != nil {
			return
		}
		if len(s.Digests()) == 0 || s.PredicateType == "" {
			t.Errorf("ParseStatement accepted %s", raw)
		}
	})
}
