// Package docker tests what users run, not the binary alone: the action
// image the repository's Dockerfile builds, run by Docker exactly as
// GitHub's runner runs a container action (the runner's mounts, working
// directory, environment and file commands) against the test bed; and the
// action's metadata — action.yml must declare every input and output the
// program reads or writes, and every workflow must pass actionlint.
//
// The image tests need the test bed (testbed/up.sh) and its Docker daemon
// (testbed/dockerd.sh start); the lint tests need actionlint
// (testbed/install-actionlint.sh) and shellcheck. Without them the tests
// skip, unless SIGIL_TESTBED=required: then they fail.
package docker
