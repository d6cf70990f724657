#!/usr/bin/env bash
# Installs actionlint, the linter of GitHub workflow files, at the version
# pinned in versions.env, and prints its path (--path: only print it). `make
# lint-actions` and e2e/docker's TestActionlint run it.
exec "$(dirname "$0")/install-gotool.sh" actionlint "$@"
