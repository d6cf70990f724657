package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sigil-dev/sigil/artifact"
	"github.com/sigil-dev/sigil/sign"
	"github.com/sigil-dev/sigil/trust"
)

// MergeConfig merges the signatures outputs of several sign runs (a release
// matrix's jobs) into one summary and one set of policies.
type MergeConfig struct {
	// Reports are globs of files, each holding one sign run's signatures
	// output (JSON).
	Reports []string
	// TrustedRoot is the private instance's trusted root ("" for public),
	// written into the policies.
	TrustedRoot string
	// PolicyDir receives the policies. The default is DefaultPolicyDir.
	PolicyDir string
	// PolicyRefs is PolicyRefsTags or PolicyRefsExact.
	PolicyRefs string
}

// Merged is the outcome of RunMerge.
type Merged struct {
	// Results are the runs, in file order.
	Results []sign.Result
	// Combined holds every image and file; its identity is the first run's.
	Combined sign.Result
	// Identities are the distinct signing identities.
	Identities []artifact.Identity
	// PolicyDir is where the policies were written.
	PolicyDir string
	Warnings  []string
}

// RunMerge reads the reports and writes the combined policies.
func RunMerge(cfg MergeConfig) (*Merged, error) {
	if len(cfg.Reports) == 0 {
		return nil, errors.New("nothing to merge: give reports, the signatures JSON files of the sign runs (globs)")
	}
	files, err := ExpandFiles(cfg.Reports)
	if err != nil {
		return nil, err
	}
	m := &Merged{PolicyDir: cfg.PolicyDir}
	if m.PolicyDir == "" {
		m.PolicyDir = DefaultPolicyDir
	}
	seen := map[artifact.Identity]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r sign.Result
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("report %s is not a sigil signatures output: %w", f, err)
		}
		if r.Identity.Subject == "" {
			return nil, fmt.Errorf("report %s names no signing identity: is it the signatures output of a sign step?", f)
		}
		m.Results = append(m.Results, r)
		if !seen[r.Identity] {
			seen[r.Identity] = true
			m.Identities = append(m.Identities, r.Identity)
		}
		m.Combined.Images = append(m.Combined.Images, r.Images...)
		m.Combined.Files = append(m.Combined.Files, r.Files...)
	}
	m.Combined.Identity = m.Results[0].Identity
	sort.SliceStable(m.Combined.Images, func(i, j int) bool {
		a, b := m.Combined.Images[i], m.Combined.Images[j]
		if a.Repository != b.Repository {
			return a.Repository < b.Repository
		}
		return a.Digest < b.Digest
	})
	var tr *root.TrustedRoot
	if cfg.TrustedRoot != "" {
		if tr, err = trust.LoadTrustedRoot(cfg.TrustedRoot); err != nil {
			return nil, err
		}
	}
	m.Warnings, err = writePolicies(m.PolicyDir, tr, cfg.PolicyRefs, m.Results...)
	return m, err
}
