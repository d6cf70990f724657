// Package selftest proves that the test bed is real: the GitHub runtime
// stand-in mints tokens Fulcio accepts, Fulcio issues certificates naming
// the workflow with an embedded SCT from the bed's CT log, and the
// reference clients — cosign v3.1.3 against Rekor v2 and the TSA, cosign
// v2.6.5 against Rekor v1 — sign and verify images on both registries and
// files, checking the SCT, and refuse a wrong identity; cosign v3 takes its
// trust from the bed's TUF repository alone as it does from the public one,
// and refuses the repository's expired and badly signed copies.
//
// The package holds only tests; they need a running bed (`make testbed`).
package selftest
