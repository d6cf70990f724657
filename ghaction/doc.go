// Package ghaction is sigil's GitHub Actions runtime: the one package that
// knows the runner's interface — its variables (INPUT_*, GITHUB_*,
// RUNNER_*, ACTIONS_ID_TOKEN_*, and DOCKER_CONFIG as a step's env sets it)
// and its file commands. The engines (sign, verify, ...) never read them;
// main.go builds a Runtime and package app passes plain values on. The few
// variables that are sigil's own, or that its CLI honours outside a
// runner, are listed in app/environ.go.
//
// # Runtime
//
// A [Runtime] holds everything it touches, injected through [New]'s
// options: the environment ([WithGetenv], default os.Getenv), where workflow
// commands go ([WithStdout], default os.Stdout), the HTTP transport of the
// token request ([WithTransport]), the source of randomness for delimiters
// ([WithRandom], default crypto/rand) and the retry policy of the token
// request ([WithTokenTimeout], [WithTokenRetries], [WithBackoff]). There is
// no package-level state, so tests build a Runtime from a map and a buffer,
// need no os.Setenv and run in parallel. The paths of the output and
// summary files are read through the injected getenv each time.
//
// # Inputs
//
// [Runtime.Input] reads an input as GitHub's toolkit does: the variable
// "INPUT_" + name in upper case with spaces turned into '_' (hyphens are
// kept: INPUT_GITHUB-TOKEN), trimmed. What the text means is up to the
// caller: sigil's input table (package app) parses it with package
// inputlist, the same parsers its CLI uses for flags, and masks the
// secrets it finds.
//
// # Outputs and the job summary
//
// [Runtime.SetOutput] appends "name<<DELIM\nvalue\nDELIM\n" to the file
// named by GITHUB_OUTPUT, with a new random delimiter for every value
// ("ghadelimiter_" + a random UUID, as @actions/core writes), and refuses a
// value that contains it and a name that is not an output id (so no
// newline, "<<" or '='). No value can therefore end its heredoc early and
// add an output of its own. go-githubactions' SetOutput is not used: its
// delimiter is fixed and public.
//
// When GITHUB_OUTPUT is unset, SetOutput writes nothing anywhere and returns
// an error wrapping [ErrNoOutputFile]. We chose this over printing
// "name=value" to stdout: outside a runner nobody reads such lines, and
// a silent fallback would hide an end-to-end harness that forgot the
// variable. A caller that runs outside GitHub on purpose tests for the
// sentinel with errors.Is.
//
// [Runtime.AppendSummary] appends markdown to GITHUB_STEP_SUMMARY and does
// nothing when that is unset.
//
// # Workflow commands
//
// [Runtime.AddMask], [Runtime.Group], [Runtime.EndGroup],
// [Runtime.Annotate] (and [Runtime.Errorf], [Runtime.Warningf],
// [Runtime.Noticef]) and [Runtime.Debugf] write one "::command::" line each
// to stdout. Messages are escaped as the toolkit's escapeData does ('%',
// '\r', '\n') and property values as its escapeProperty does (also ':' and
// ','); the formatting is go-githubactions' Command.String, the writing is
// ours, so a failed write is an error and never a panic. A message
// therefore always stays on its one line and cannot start another command.
// AddMask masks a multi-line secret line by line, since the runner masks
// the log one line at a time. [Runtime.Logf] prints plain text, wrapping it
// in "::stop-commands::" with a random token whenever it contains "::", so
// that text read from elsewhere (a registry, a certificate) cannot run a
// command either.
//
// # OIDC token
//
// [Runtime.IDToken] requests the job's OIDC token from
// ACTIONS_ID_TOKEN_REQUEST_URL. It is written here rather than taken from
// go-githubactions' GetIDToken because sigil needs what that lacks: retries
// with an injectable backoff, a per-attempt timeout, the [ErrNoIDTokenPermission]
// sentinel that tells the user to grant `id-token: write`, a bounded and
// redacted snippet of error bodies ([TokenResponseError]), and masking of
// the token before it is returned. No error carries the token or the
// request token.
//
// [Runtime.IDTokenAvailable] tells, before anything is contacted, whether
// the job may request a token at all.
//
// # Context
//
// [Runtime.Context] returns the few GITHUB_*, RUNNER_* and DOCKER_CONFIG
// values sigil uses as a typed [Context].
package ghaction
