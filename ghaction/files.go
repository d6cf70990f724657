package ghaction

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/uuid"
)

// ErrNoOutputFile is returned (wrapped) by SetOutput when GITHUB_OUTPUT is
// not set, that is when not running on a GitHub Actions runner. Nothing is
// written anywhere in that case; a caller running outside GitHub may test
// for it with errors.Is and carry on.
var ErrNoOutputFile = errors.New("GITHUB_OUTPUT is not set: not running on a GitHub Actions runner, so there is no output file to write")

// randomToken returns prefix followed by a random UUID read from the
// Runtime's source of randomness, and an error if the token occurs in any
// of avoid (which a random token only does by design of an attacker who
// knows the source).
func (r *Runtime) randomToken(prefix string, avoid ...string) (string, error) {
	r.mu.Lock()
	id, err := uuid.NewRandomFromReader(r.random)
	r.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	token := prefix + id.String()
	for _, s := range avoid {
		if strings.Contains(s, token) {
			return "", fmt.Errorf("unexpected input: it contains the random delimiter %q", token)
		}
	}
	return token, nil
}

// validOutputName reports whether name is a valid output name: a letter or
// '_' followed by letters, digits, '_' and '-', as action.yml output ids
// are. No such name contains a newline, "<<" or '=', which would change how
// the runner reads the output file.
func validOutputName(name string) bool {
	for i, c := range name {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && (c == '-' || '0' <= c && c <= '9'):
		default:
			return false
		}
	}
	return name != ""
}

// SetOutput sets the step output name to value by appending to the file
// named by GITHUB_OUTPUT, in the heredoc form
//
//	name<<ghadelimiter_<random UUID>
//	value
//	ghadelimiter_<random UUID>
//
// with a new random delimiter for each value, as GitHub's toolkit does, so
// that no value can end the heredoc early and forge another output. The
// record is appended in one write.
//
// It returns an error, and writes nothing, when name is not a valid output
// name (a letter or '_', then letters, digits, '_' or '-': so never a
// newline, "<<" or '='), when value contains the delimiter, or when
// GITHUB_OUTPUT is not set (ErrNoOutputFile).
func (r *Runtime) SetOutput(name, value string) error {
	if !validOutputName(name) {
		return fmt.Errorf("output name %q is not valid: want a letter or '_' followed by letters, digits, '_' or '-'", name)
	}
	path := r.getenv("GITHUB_OUTPUT")
	if path == "" {
		return fmt.Errorf("setting output %s: %w", name, ErrNoOutputFile)
	}
	delim, err := r.randomToken("ghadelimiter_", value)
	if err != nil {
		return fmt.Errorf("setting output %s: %w", name, err)
	}
	record := name + "<<" + delim + "\n" + value + "\n" + delim + "\n"
	if err := r.appendFile(path, record); err != nil {
		return fmt.Errorf("setting output %s: %w", name, err)
	}
	return nil
}

// AppendSummary appends markdown to the job summary, the file named by
// GITHUB_STEP_SUMMARY, adding a final newline if markdown has none. When
// GITHUB_STEP_SUMMARY is not set (not on a runner) it does nothing and
// returns nil.
func (r *Runtime) AppendSummary(markdown string) error {
	path := r.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	if err := r.appendFile(path, markdown); err != nil {
		return fmt.Errorf("writing step summary: %w", err)
	}
	return nil
}

// appendFile appends s to the file at path in one write, creating it if
// needed, under the lock.
func (r *Runtime) appendFile(path, s string) (err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = f.WriteString(s)
	return err
}
