package app

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/attestation"
)

// Artifacts are the settings sign and verify read alike: what the run is
// about, and how it reaches the registries and the trust material.
type Artifacts struct {
	Images    []string
	Files     []string // globs
	Recursive bool
	Format    artifact.Format
	// TrustedRoot is a trusted root JSON path ("" for the one the TUF
	// repository distributes).
	TrustedRoot string
	// TUFMirror and TUFRoot name the TUF repository and its initial
	// root.json file ("" for the public instance's).
	TUFMirror, TUFRoot string
	RegistryConfig
	Concurrency int
	// RequestTimeout bounds one attempt of one request; 0 means 30s.
	RequestTimeout time.Duration
}

// SignConfig is a sign request, from action inputs or flags (see Inputs).
type SignConfig struct {
	Artifacts
	Annotations map[string]string

	SigningConfig string
	FulcioURL     string
	RekorURL      string
	TSAURL        string
	// RekorV2 picks the TUF repository's Rekor v2 signing config.
	RekorV2 bool

	AllowPublicLog bool
	// SkipSigned keeps what the run's identity signed already (the
	// skip-signed input; see sign.WithSkipSigned).
	SkipSigned bool
	// PolicyRefs is PolicyRefsTags or PolicyRefsExact.
	PolicyRefs string
	// PolicyDir, when set, receives generated consumer policies (the action
	// defaults it to DefaultPolicyDir; the CLI writes none unless asked).
	PolicyDir string

	// Attestations, signed under the run's certificate (for sign/ to
	// write; see package attestation and package provenance).

	// Provenance asks for SLSA v1 build provenance of every image and file.
	Provenance bool
	// ServerURL is the GitHub server the provenance names ("": github.com).
	ServerURL string
	// SBOMs are the sboms lines, parsed: resolve them against the images
	// and the expanded files with attestation.Match, and read each with
	// attestation.ReadSBOM, before any token is requested.
	SBOMs []attestation.Assignment
	// PredicateType is the type of the Predicates (set exactly when
	// Predicates is; checked to be an absolute URI).
	PredicateType string
	// Predicates are the predicates lines, parsed: custom predicates read
	// with attestation.ReadPredicate.
	Predicates []attestation.Assignment
}

// ExpandFiles expands the files globs (with ** matching any number of
// directories) into a sorted list of regular files. A glob that matches
// nothing is an error: a release that forgot to build an archive must not
// pass silently. Bundles (*.sigstore.json) are never matched.
func ExpandFiles(globs []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	var errs []error
	for _, g := range globs {
		matches, err := glob(g)
		if err != nil {
			errs = append(errs, fmt.Errorf("files: %q: %w", g, err))
			continue
		}
		n := 0
		for _, m := range matches {
			if strings.HasSuffix(m, artifact.BundleSuffix) {
				continue
			}
			n++
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("files: %q matches no file", g))
		}
	}
	sort.Strings(out)
	return out, errors.Join(errs...)
}

// glob matches one pattern; "**" matches any number of path elements.
func glob(pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	if !strings.Contains(pattern, "**") {
		return filterFiles(filepath.Glob(pattern))
	}
	root, rest, _ := strings.Cut(pattern, "**")
	root = filepath.Clean(root)
	if root == "" {
		root = "."
	}
	rest = strings.TrimPrefix(rest, string(filepath.Separator))
	var matches []string
	err := filepath.WalkDir(root, func(p string, d fsDirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if rest == "" {
			matches = append(matches, p)
			return nil
		}
		// rest matches the path's tail: any suffix of rel's elements.
		parts := strings.Split(rel, string(filepath.Separator))
		for i := range parts {
			if ok, _ := filepath.Match(rest, filepath.Join(parts[i:]...)); ok {
				matches = append(matches, p)
				break
			}
		}
		return nil
	})
	return matches, err
}
