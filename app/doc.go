// Package app runs sigil's commands — sign and verify — for the two ways the
// binary is used: as a GitHub container action (inputs from INPUT_*
// variables, results to GITHUB_OUTPUT and the step summary) and as a
// command-line tool (flags named like the inputs, results on stdout).
//
// Both front ends fill the same Config types and call the same Run
// functions, so the action and the CLI behave alike. Every input is
// validated, and every image reference resolved, before anything is signed
// or pushed.
package app
