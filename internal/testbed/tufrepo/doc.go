// Package tufrepo builds TUF repositories shaped like the public Sigstore
// one (sigstore/root-signing, served at https://tuf-repo-cdn.sigstore.dev),
// for the test bed's TUF server and for unit tests of TUF clients.
//
// A repository is a set of files keyed by their path under the mirror's
// base URL, as sigstore-go's client (go-tuf v2) asks for them: consistent
// snapshots are on, as in production, so the root is at "N.root.json",
// snapshot and targets metadata at "V.snapshot.json" and "V.targets.json",
// only the timestamp at a fixed "timestamp.json", and each target at
// "targets/<sha256>.<name>" (trusted_root.json, signing_config.v0.2.json,
// signing_config_rekor_v2.v0.2.json, ...). Keys are ECDSA P-256, the
// scheme (ecdsa-sha2-nistp256) the public repository uses, with a
// threshold of one per role.
//
// The root is signed once, by [SignRoot], and kept by the caller: a client
// that trusts it on first use keeps trusting a repository rebuilt later
// with the same keys. [Build] signs the other three roles. Its Spec can
// also make the broken repositories negative tests need: a timestamp that
// has expired, or targets metadata signed by a key the root does not name.
//
// The package builds and serves bytes; it fetches nothing.
package tufrepo
