package app

import (
	"errors"
	"fmt"

	"github.com/sigil-dev/sigil/attestation"
	"github.com/sigil-dev/sigil/setting"
	"github.com/sigil-dev/sigil/sign"
)

// readPredicates reads the run's SBOMs and custom predicates and matches
// each to the images (as given) and files it names, before anything is
// contacted: a document that is not what it says, or names nothing of the
// step, fails the run here, naming the setting, the line and the file.
func readPredicates(cfg SignConfig, files []string) ([]sign.Predicate, error) {
	var out []sign.Predicate
	var errs []error
	for _, src := range []struct {
		setting setting.Setting
		lines   []attestation.Assignment
		read    func(path string) (*attestation.Predicate, error)
	}{
		{setting.SBOMs, cfg.SBOMs, attestation.ReadSBOM},
		{setting.Predicates, cfg.Predicates, func(path string) (*attestation.Predicate, error) {
			return attestation.ReadPredicate(path, cfg.PredicateType)
		}},
	} {
		matched, err := attestation.Match(src.lines, cfg.Images, files)
		if err != nil {
			errs = append(errs, &setting.Error{Setting: src.setting, Err: err})
		}
		for _, m := range matched {
			p, err := src.read(m.Path)
			if err == nil {
				// The larger log's limit here; sign checks each statement
				// against the logs it uses before any token is requested.
				err = attestation.CheckSize(m.Path, len(p.JSON), 1)
			}
			if err != nil {
				errs = append(errs, &setting.Error{Setting: src.setting, Err: fmt.Errorf("line %d: %w", m.Line, err)})
				continue
			}
			out = append(out, sign.Predicate{Type: p.Type, Kind: p.Kind, Source: p.Path, JSON: p.JSON, Images: m.Images, Files: m.Files})
		}
	}
	return out, errors.Join(errs...)
}
