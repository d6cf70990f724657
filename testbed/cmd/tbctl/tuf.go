package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	legacytuf "github.com/sigstore/sigstore/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/sigil-dev/sigil/internal/testbed/tufrepo"
)

// The repositories tuf writes under --out, each served by tufserve: the
// good one at the server's root, the broken ones under their names.
const (
	tufGood    = "repo"
	tufExpired = "expired"
	tufBadSig  = "badsig"
)

// tufCmd writes the bed's TUF repository, and two broken copies of it for
// negative tests, from the target files given. Its keys and its root are
// made once and kept in --keys, so clients that trusted the root keep
// trusting the repository after the bed restarts; the other metadata is
// signed again at each run, with the Unix time as its version, so that it
// never goes back to a version a client has cached.
func tufCmd(args []string) error {
	fs := flag.NewFlagSet("tuf", flag.ContinueOnError)
	keysDir := fs.String("keys", "", "directory of the keys (tuf-ROLE.key) and the signed root (tuf-root.json); both are created if missing (required)")
	out := fs.String("out", "", "directory to write the repositories to, replaced: "+tufGood+"/, "+tufExpired+"/ (timestamp expired an hour ago), "+tufBadSig+"/ (targets signed by a key the root does not name) (required)")
	expires := fs.Duration("expires", 365*24*time.Hour, "validity of the targets, snapshot and timestamp metadata")
	var targets ruleList
	fs.Var(&targets, "target", "NAME=FILE: a target and the file holding it (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keysDir == "" || *out == "" || len(targets) == 0 {
		return errors.New("--keys, --out and at least one --target are required")
	}
	files := map[string][]byte{}
	for _, t := range targets {
		name, path, ok := strings.Cut(t, "=")
		if !ok || name == "" || strings.Contains(name, "/") {
			return fmt.Errorf("--target %q: want NAME=FILE, NAME without '/'", t)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[name] = b
	}
	keys, root, err := tufKeys(*keysDir)
	if err != nil {
		return err
	}
	rogue, err := tufrepo.GenerateKeys()
	if err != nil {
		return err
	}
	now := time.Now()
	good := tufrepo.Spec{Keys: keys, Root: root, Targets: files, Version: now.Unix(), Expires: now.Add(*expires)}
	expired, badsig := good, good
	expired.TimestampExpires = now.Add(-time.Hour)
	badsig.SignWith = map[string]crypto.Signer{metadata.TARGETS: rogue.Targets}

	tmp := *out + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	for name, spec := range map[string]tufrepo.Spec{tufGood: good, tufExpired: expired, tufBadSig: badsig} {
		repo, err := tufrepo.Build(spec)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := repo.Write(filepath.Join(tmp, name)); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(*out); err != nil {
		return err
	}
	return os.Rename(tmp, *out)
}

// tufKeys loads the four roles' keys from dir, making the missing ones,
// and the root signed with them, signing it again if it is missing or
// names other keys.
func tufKeys(dir string) (*tufrepo.Keys, []byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	var k tufrepo.Keys
	for role, p := range map[string]*crypto.Signer{
		metadata.ROOT: &k.Root, metadata.TARGETS: &k.Targets, metadata.SNAPSHOT: &k.Snapshot, metadata.TIMESTAMP: &k.Timestamp,
	} {
		s, err := loadOrCreateECKey(filepath.Join(dir, "tuf-"+role+".key"))
		if err != nil {
			return nil, nil, err
		}
		*p = s
	}
	rootPath := filepath.Join(dir, "tuf-root.json")
	if b, err := os.ReadFile(rootPath); err == nil && rootNames(b, &k) {
		return &k, b, nil
	}
	// Root metadata outlives every bed: the bed's repository has no
	// process to sign a new root version.
	b, err := tufrepo.SignRoot(&k, time.Now().AddDate(10, 0, 0))
	if err != nil {
		return nil, nil, err
	}
	return &k, b, writeFileAtomic(rootPath, b, 0o644)
}

// rootNames reports whether root names each of k's keys for its role.
func rootNames(root []byte, k *tufrepo.Keys) bool {
	m, err := (&metadata.Metadata[metadata.RootType]{}).FromBytes(root)
	if err != nil {
		return false
	}
	for role, s := range map[string]crypto.Signer{metadata.ROOT: k.Root, metadata.TARGETS: k.Targets, metadata.SNAPSHOT: k.Snapshot, metadata.TIMESTAMP: k.Timestamp} {
		key, err := metadata.KeyFromPublicKey(s.Public())
		if err != nil {
			return false
		}
		id, err := key.ID()
		if err != nil || m.Signed.Roles[role] == nil || !slices.Contains(m.Signed.Roles[role].KeyIDs, id) {
			return false
		}
	}
	return true
}

// loadOrCreateECKey reads a PKCS#8 PEM ECDSA key, or creates a P-256 one at
// path (and its public key beside it, .pub for .key).
func loadOrCreateECKey(path string) (crypto.Signer, error) {
	pub := strings.TrimSuffix(path, ".key") + ".pub"
	if err := keygen([]string{"--type", "ecdsa-p256", "--out", path, "--pub", pub}); err != nil {
		return nil, err
	}
	key, err := readPKCS8(path)
	if err != nil {
		return nil, err
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not an ECDSA key; delete it to get a new key", path, key)
	}
	return ek, nil
}

// tufServe serves the repositories tuf wrote in --dir: the good one at the
// root, the broken ones under /expired/ and /badsig/, until SIGINT or
// SIGTERM.
func tufServe(args []string) error {
	fs := flag.NewFlagSet("tufserve", flag.ContinueOnError)
	addr := fs.String("listen", "", "host:port to serve on (required)")
	dir := fs.String("dir", "", "the --out directory of tbctl tuf (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" || *dir == "" {
		return errors.New("--listen and --dir are required")
	}
	ln, err := listenLoopback(*addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(filepath.Join(*dir, tufGood))))
	for _, name := range []string{tufExpired, tufBadSig} {
		mux.Handle("/"+name+"/", http.StripPrefix("/"+name, http.FileServer(http.Dir(filepath.Join(*dir, name)))))
	}
	logger := log.New(os.Stderr, "tbctl tufserve: ", log.LstdFlags)
	srv := &http.Server{Handler: logRequests(logger, "tuf", mux), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Printf("serving %s on %s", *dir, *addr)
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return err
}

// tufCache primes a TUF cache for the clients built on sigstore's
// older TUF client (github.com/sigstore/sigstore/pkg/tuf, go-tuf v0.7), as
// Kyverno's controller does at start from its --tufMirror and --tufRoot
// flags: Kyverno's CLI has no such flags and reads only the cache that
// TUF_ROOT names. The cache gets remote.json (the mirror), tuf.db (the
// verified metadata) and targets/.
func tufCache(args []string) error {
	fs := flag.NewFlagSet("tufcache", flag.ContinueOnError)
	cache := fs.String("cache", "", "the TUF_ROOT directory to prime (required)")
	mirror := fs.String("mirror", "", "the TUF repository's base URL (required)")
	rootFile := fs.String("root", "", "its initial root.json (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cache == "" || *mirror == "" || *rootFile == "" {
		return errors.New("--cache, --mirror and --root are required")
	}
	root, err := os.ReadFile(*rootFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*cache, 0o700); err != nil {
		return err
	}
	// The client reads its cache directory from the environment only.
	if err := os.Setenv(legacytuf.TufRootEnv, *cache); err != nil {
		return err
	}
	return legacytuf.Initialize(context.Background(), *mirror, root)
}
