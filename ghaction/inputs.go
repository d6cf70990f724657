package ghaction

import "strings"

// inputEnv returns the environment variable that holds the input name, as
// GitHub's toolkit names it: "INPUT_" followed by the name in upper case
// with spaces replaced by '_'. Hyphens are kept: the input "github-token" is
// INPUT_GITHUB-TOKEN.
func inputEnv(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// Input returns the value of the input name, trimmed of surrounding white
// space, or "" when the input is not set. The text is parsed by the caller
// (sigil's input table, with package inputlist's parsers).
func (r *Runtime) Input(name string) string {
	return strings.TrimSpace(r.getenv(inputEnv(name)))
}
