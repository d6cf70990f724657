package ghaction

import (
	"fmt"
	"strings"

	"github.com/sigil-dev/sigil/ghaction/inputlist"
)

// InputEnv returns the environment variable that holds the input name, as
// GitHub's toolkit names it: "INPUT_" followed by the name in upper case
// with spaces replaced by '_'. Hyphens are kept: the input "github-token" is
// INPUT_GITHUB-TOKEN.
func InputEnv(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// Input returns the value of the input name, trimmed of surrounding white
// space, or "" when the input is not set.
func (r *Runtime) Input(name string) string {
	return strings.TrimSpace(r.getenv(InputEnv(name)))
}

// InputBool returns the input name as a boolean. It accepts what GitHub's
// toolkit accepts (YAML 1.2 core schema): true, True, TRUE, false, False,
// FALSE. An empty or unset input returns def; the runner always sets inputs
// that have a default in action.yml, so def only matters outside GitHub.
// Any other value is an error naming the input.
func (r *Runtime) InputBool(name string, def bool) (bool, error) {
	switch v := r.Input(name); v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	default:
		return false, fmt.Errorf("input %s: %q is not a boolean: want one of true, True, TRUE, false, False, FALSE", name, v)
	}
}

// InputList returns the items of the input name, one per line or separated
// by commas, as parsed by inputlist.ParseList. It returns nil when the input
// is empty or unset.
func (r *Runtime) InputList(name string) []string {
	return inputlist.ParseList(r.Input(name))
}

// InputLines returns the lines of the input name, commas kept, as parsed by
// inputlist.ParseLines. It returns nil when the input is empty or unset.
func (r *Runtime) InputLines(name string) []string {
	return inputlist.ParseLines(r.Input(name))
}

// InputKeyValues returns the key=value lines of the input name, as parsed by
// inputlist.ParseKeyValues. It returns nil when the input is empty or unset;
// errors name the input and the line.
func (r *Runtime) InputKeyValues(name string) (map[string]string, error) {
	kv, err := inputlist.ParseKeyValues(r.Input(name))
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", name, err)
	}
	return kv, nil
}

// InputCredentials returns the host=username:password lines of the input
// name, as parsed by inputlist.ParseCredentials, and masks every password
// (AddMask) before returning. It returns nil when the input is empty or
// unset; errors name the input and the line, never a password.
func (r *Runtime) InputCredentials(name string) ([]inputlist.Credential, error) {
	creds, err := inputlist.ParseCredentials(r.Input(name))
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", name, err)
	}
	for _, c := range creds {
		if err := r.AddMask(c.Password); err != nil {
			return nil, fmt.Errorf("input %s: %w", name, err)
		}
	}
	return creds, nil
}
