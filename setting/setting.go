// Package setting names the choices a caller of sigil's engines makes — a
// format, a log's URL, a trusted root, registry credentials — so that the
// engines can say which choice is wrong without knowing how it was made.
//
// The engines (sign, verify, trust, registry) check each rule once and
// return an *Error in their own words, naming the Setting at fault and the
// values that would fix it. The front ends translate: the GitHub action
// renders a setting as its input ("format: bundle"), the CLI as its flag
// ("--format bundle"). A Setting's name is the one both front ends use.
package setting

import (
	"errors"
	"fmt"
	"strings"
)

// Setting names one choice, as both front ends call it.
type Setting string

// The settings the engines refer to.
const (
	Format         Setting = "format"
	Annotations    Setting = "annotations"
	Concurrency    Setting = "concurrency"
	SigningConfig  Setting = "signing-config"
	FulcioURL      Setting = "fulcio-url"
	RekorURL       Setting = "rekor-url"
	TSAURL         Setting = "tsa-url"
	TrustedRoot    Setting = "trusted-root"
	Credentials    Setting = "registry-credentials"
	GitHubToken    Setting = "github-token"
	AllowPublicLog Setting = "allow-public-log"
	RekorV2        Setting = "rekor-v2"
	TUFMirror      Setting = "tuf-mirror"
	TUFRoot        Setting = "tuf-root"
	SBOMs          Setting = "sboms"
	Predicates     Setting = "predicates"
)

// Bounds of the concurrency setting, shared by sign and verify.
const (
	// DefaultConcurrency is how many artifacts a run handles at once when
	// not told otherwise.
	DefaultConcurrency = 16
	// MaxConcurrency is the most a run handles at once.
	MaxConcurrency = 256
)

// CheckConcurrency returns an *Error unless n is within 1..MaxConcurrency.
func CheckConcurrency(n int) error {
	if n < 1 || n > MaxConcurrency {
		return Errorf(Concurrency, "%d: want 1 to %d", n, MaxConcurrency)
	}
	return nil
}

// Assign is a value to give a setting, offered as a fix.
type Assign struct {
	Setting Setting
	Value   string
}

// Error is a setting that is wrong or conflicts with another.
type Error struct {
	// Setting is the setting at fault.
	Setting Setting
	// Err says what is wrong, in the engine's words.
	Err error
	// Fixes are values that would make the run valid, any one of them.
	Fixes []Assign
}

var _ error = (*Error)(nil)

// Errorf returns an *Error for s with a formatted message.
func Errorf(s Setting, format string, a ...any) *Error {
	return &Error{Setting: s, Err: fmt.Errorf(format, a...)}
}

// WithFix returns e offering the fixes too.
func (e *Error) WithFix(fixes ...Assign) *Error {
	e.Fixes = append(e.Fixes, fixes...)
	return e
}

// Error renders the settings plainly ("format", "format bundle").
func (e *Error) Error() string {
	return e.Render(func(s Setting) string { return string(s) }, func(s Setting, v string) string { return string(s) + " " + v })
}

// Unwrap returns the engine's error.
func (e *Error) Unwrap() error { return e.Err }

// Render writes the error with each setting named by name and each fix by
// assign, as a front end calls them.
func (e *Error) Render(name func(Setting) string, assign func(Setting, string) string) string {
	msg := name(e.Setting) + ": " + e.Err.Error()
	if len(e.Fixes) > 0 {
		fixes := make([]string, len(e.Fixes))
		for i, f := range e.Fixes {
			fixes[i] = assign(f.Setting, f.Value)
		}
		msg += ": use " + strings.Join(fixes, " or ")
	}
	return msg
}

// Render renders every *Error in err's tree with name and assign (see
// Error.Render), leaving other errors' text as it is. Joined errors keep
// one line each; an *Error wrapped with context keeps the context.
func Render(err error, name func(Setting) string, assign func(Setting, string) string) string {
	if err == nil {
		return ""
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var lines []string
		for _, e := range j.Unwrap() {
			if e != nil {
				lines = append(lines, Render(e, name, assign))
			}
		}
		return strings.Join(lines, "\n")
	}
	var se *Error
	if !errors.As(err, &se) {
		return err.Error()
	}
	// Keep the context the *Error was wrapped in: its text before the
	// *Error's own.
	full, own := err.Error(), se.Error()
	prefix, _ := strings.CutSuffix(full, own)
	if prefix == full {
		prefix = ""
	}
	return prefix + se.Render(name, assign)
}
