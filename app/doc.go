// Package app runs sigil's commands — sign, verify and merge — for the two
// ways the binary is used: as a GitHub container action (inputs from
// INPUT_* variables, results to GITHUB_OUTPUT and the step summary) and as
// a command-line tool (cobra commands whose flags are named like the
// inputs, results on stdout).
//
// Every setting is declared once, in the Inputs table (inputs.go): its
// name, the modes that read it, its default and its help. The action's
// reader, the CLI's flags and the check of action.yml (inputs_test.go) are
// derived from it, and both front ends fill the same Config types through
// one reader (read.go) and call the same Run functions, so the action and
// the CLI behave alike. Errors from the engines name settings in their own
// terms (package setting); the front ends render them as inputs
// ("format: bundle") or flags ("--format bundle"). Every setting is
// checked, and every image reference resolved, before anything is signed
// or pushed.
package app
