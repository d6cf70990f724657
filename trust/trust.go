package trust

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/sigil-dev/sigil/setting"
)

// Services names the endpoints one signing run uses.
type Services struct {
	// FulcioURL is the certificate authority's base URL.
	FulcioURL string
	// RekorURL is the transparency log's base URL; empty means no log.
	RekorURL string
	// RekorVersion is the log's API version: 1 (Rekor v1, entries carry a
	// signed entry timestamp) or 2 (Rekor v2, tiles; needs a TSA).
	RekorVersion uint32
	// LegacyRekorURL is a Rekor v1 log for the legacy cosign signature
	// format, which carries a v1 signed entry timestamp. It equals RekorURL
	// when that is a v1 log, and is empty when the config has no v1 log.
	LegacyRekorURL string
	// TSAURLs are RFC 3161 timestamp authorities (full URL with path).
	TSAURLs []string
}

// ServiceOptions are the user's inputs that choose services. Explicit URLs
// take precedence over the signing config.
type ServiceOptions struct {
	SigningConfigPath string
	// SigningConfig is a signing config already read, e.g. from TUF
	// (TUF.SigningConfig); it is used when SigningConfigPath is empty.
	SigningConfig *root.SigningConfig
	FulcioURL     string
	RekorURL      string
	// RekorVersion applies to RekorURL; 0 means 1.
	RekorVersion uint32
	TSAURL       string
}

// SelectServices resolves the signing services from a signing config and
// explicit URLs, at time now.
func SelectServices(o ServiceOptions, now time.Time) (Services, error) {
	var s Services
	if o.SigningConfigPath != "" {
		sc, err := root.NewSigningConfigFromPath(o.SigningConfigPath)
		if err != nil {
			return s, setting.Errorf(setting.SigningConfig, "reading %s: %v (it must be a Sigstore signing config JSON, as `cosign signing-config create` writes)", o.SigningConfigPath, err)
		}
		if s, err = fromSigningConfig(sc, now); err != nil {
			return s, setting.Errorf(setting.SigningConfig, "%s: %v", o.SigningConfigPath, err)
		}
	} else if o.SigningConfig != nil {
		var err error
		if s, err = fromSigningConfig(o.SigningConfig, now); err != nil {
			return s, fmt.Errorf("signing config: %w", err)
		}
	}
	if o.FulcioURL != "" {
		s.FulcioURL = o.FulcioURL
	}
	if o.RekorURL != "" {
		s.RekorURL = o.RekorURL
		s.RekorVersion = o.RekorVersion
		if s.RekorVersion == 0 {
			s.RekorVersion = 1
		}
	}
	if s.RekorVersion == 1 {
		s.LegacyRekorURL = s.RekorURL
	}
	if o.TSAURL != "" {
		s.TSAURLs = []string{o.TSAURL}
	}
	var errs []error
	for name, u := range map[setting.Setting]string{setting.FulcioURL: s.FulcioURL, setting.RekorURL: s.RekorURL} {
		if err := checkURL(u); err != nil {
			errs = append(errs, &setting.Error{Setting: name, Err: err})
		}
	}
	for _, u := range s.TSAURLs {
		if err := checkURL(u); err != nil {
			errs = append(errs, &setting.Error{Setting: setting.TSAURL, Err: err})
		}
	}
	return s, errors.Join(errs...)
}

func checkURL(u string) error {
	if u == "" {
		return nil
	}
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", u, err)
	}
	if p.Scheme != "https" && p.Scheme != "http" || p.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", u)
	}
	return nil
}

func fromSigningConfig(sc *root.SigningConfig, now time.Time) (Services, error) {
	var s Services
	fulcio, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
	if err != nil {
		return s, fmt.Errorf("no usable Fulcio: %w", err)
	}
	s.FulcioURL = fulcio.URL
	// One log: the newest API version sigstore-go speaks.
	logs, err := root.SelectServices(sc.RekorLogURLs(), root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_EXACT, Count: 1}, sign.RekorAPIVersions, now)
	if err != nil {
		return s, fmt.Errorf("no usable Rekor: %w", err)
	}
	s.RekorURL, s.RekorVersion = logs[0].URL, logs[0].MajorAPIVersion
	// The legacy format needs a v1 log; the config may list one beside v2.
	if v1, err := root.SelectService(sc.RekorLogURLs(), []uint32{1}, now); err == nil {
		s.LegacyRekorURL = v1.URL
	}
	if len(sc.TimestampAuthorityURLs()) > 0 {
		tsas, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now)
		if err != nil {
			return s, fmt.Errorf("no usable timestamp authority: %w", err)
		}
		for _, t := range tsas {
			s.TSAURLs = append(s.TSAURLs, t.URL)
		}
	}
	return s, nil
}

// LoadTrustedRoot reads a trusted root JSON file (the public instance's
// comes through TUF: see OpenTUF).
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, setting.Errorf(setting.TrustedRoot, "reading %v", err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, setting.Errorf(setting.TrustedRoot, "%s is not a Sigstore trusted root JSON (as `cosign trusted-root create` writes): %v", path, err)
	}
	return tr, nil
}
