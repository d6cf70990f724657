package attestation

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sigil-dev/sigil/inputlist"
)

// Assignment is one line of an sboms or predicates setting: a document and
// the artifacts it belongs to.
type Assignment struct {
	// Line is the 1-based line number in the setting's text.
	Line int
	// Pattern names the artifacts: an image reference as given in the
	// step's images, a file's path, or a glob; "" assigns the document to
	// every image and file.
	Pattern string
	// Path is the document's file.
	Path string
}

func (a Assignment) String() string {
	if a.Pattern == "" {
		return a.Path
	}
	return a.Pattern + "=" + a.Path
}

// ParseAssignments parses assignment lines, one a line: PATTERN=PATH, or
// PATH alone for every artifact. The line is split at its first '=' (an
// image reference or a glob has none; a document's path may). Blank lines
// and lines starting with '#' are skipped. An empty pattern or path, a
// malformed glob, or a line given twice is an error naming the line.
func ParseAssignments(text string) ([]Assignment, error) {
	var out []Assignment
	var errs []error
	seen := map[Assignment]int{}
	for _, l := range inputlist.Lines(text) {
		a := Assignment{Line: l.Number}
		pattern, path, ok := strings.Cut(l.Text, "=")
		if ok {
			a.Pattern, a.Path = strings.TrimSpace(pattern), strings.TrimSpace(path)
		} else {
			a.Path = l.Text
		}
		switch {
		case ok && a.Pattern == "":
			errs = append(errs, fmt.Errorf("line %d: nothing before '=': want IMAGE_OR_FILE=PATH, or PATH alone for every image and file", l.Number))
			continue
		case a.Path == "":
			errs = append(errs, fmt.Errorf("line %d: no document after '=': want IMAGE_OR_FILE=PATH", l.Number))
			continue
		case strings.ContainsRune(l.Text, 0):
			errs = append(errs, fmt.Errorf("line %d: contains a NUL character", l.Number))
			continue
		}
		key := a
		key.Line = 0
		if first, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("line %d: %s already given on line %d", l.Number, a, first))
			continue
		}
		seen[key] = l.Number
		out = append(out, a)
	}
	return out, errors.Join(errs...)
}

// globRegexp turns a pattern into an anchored regular expression: '*'
// matches any run of characters ('/' and ':' included), '?' one character,
// everything else itself.
func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

// Matched is an assignment with the artifacts it names.
type Matched struct {
	Assignment
	// Images are the step's image references it names, as given.
	Images []string
	// Files are the step's files it names, as given.
	Files []string
}

// Match resolves assignments against a step's images (references as given)
// and files (paths, after glob expansion). A pattern names an image when it
// matches the reference as given or as go-containerregistry normalizes it
// (index.docker.io/library/app:latest for app), and a file when it matches
// its path (or both cleaned, '/'-separated: ./dist/a matches dist/a). Every assignment must name
// at least one artifact: one that names none is an error listing what the
// step has, so a typo never leaves an image without its SBOM.
func Match(as []Assignment, images, files []string) ([]Matched, error) {
	var out []Matched
	var errs []error
	for _, a := range as {
		m := Matched{Assignment: a}
		if a.Pattern == "" {
			m.Images, m.Files = append([]string(nil), images...), append([]string(nil), files...)
		} else {
			re := globRegexp(a.Pattern)
			fileRe := globRegexp(path.Clean(filepath.ToSlash(a.Pattern)))
			for _, img := range images {
				if re.MatchString(img) || re.MatchString(normalized(img)) {
					m.Images = append(m.Images, img)
				}
			}
			for _, f := range files {
				if re.MatchString(f) || fileRe.MatchString(filepath.ToSlash(filepath.Clean(f))) {
					m.Files = append(m.Files, f)
				}
			}
		}
		if len(m.Images) == 0 && len(m.Files) == 0 {
			errs = append(errs, fmt.Errorf("line %d: %s names no image or file of this step (images: %s; files: %s)", a.Line, a, orNone(images), orNone(files)))
			continue
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

func normalized(ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		return ref
	}
	return r.Name()
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
