package tufrepo

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Keys are the signing keys of the four top-level roles.
type Keys struct {
	Root, Targets, Snapshot, Timestamp crypto.Signer
}

// GenerateKeys returns four new ECDSA P-256 keys.
func GenerateKeys() (*Keys, error) {
	var k Keys
	for _, p := range []*crypto.Signer{&k.Root, &k.Targets, &k.Snapshot, &k.Timestamp} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		*p = key
	}
	return &k, nil
}

func (k *Keys) byRole() map[string]crypto.Signer {
	return map[string]crypto.Signer{
		metadata.ROOT: k.Root, metadata.TARGETS: k.Targets,
		metadata.SNAPSHOT: k.Snapshot, metadata.TIMESTAMP: k.Timestamp,
	}
}

// SignRoot returns version 1 of a root that names each of k's keys for its
// role (threshold 1), with consistent snapshots, expiring at expires and
// signed by k.Root.
func SignRoot(k *Keys, expires time.Time) ([]byte, error) {
	root := metadata.Root(expires.UTC().Truncate(time.Second))
	for role, signer := range k.byRole() {
		if signer == nil {
			return nil, fmt.Errorf("no %s key", role)
		}
		key, err := metadata.KeyFromPublicKey(signer.Public())
		if err != nil {
			return nil, fmt.Errorf("%s key: %w", role, err)
		}
		if err := root.Signed.AddKey(key, role); err != nil {
			return nil, err
		}
	}
	if err := sign(root, k.Root); err != nil {
		return nil, err
	}
	return root.ToBytes(true)
}

// Spec is one build of a repository.
type Spec struct {
	// Keys sign the targets, snapshot and timestamp metadata. Required.
	Keys *Keys
	// Root is the signed root metadata, from SignRoot; it must name Keys.
	// Required.
	Root []byte
	// Targets are the target files by name.
	Targets map[string][]byte
	// Version is the version of the targets, snapshot and timestamp
	// metadata. The default is 1. Clients that cached an earlier build
	// refuse a lower version as a rollback, so a repository rebuilt for
	// them needs a higher one (the bed uses the Unix time).
	Version int64
	// Expires is when the targets, snapshot and timestamp metadata
	// expire. Required.
	Expires time.Time
	// TimestampExpires, when set, is when timestamp.json expires instead:
	// a time in the past makes a repository clients must refuse as
	// expired.
	TimestampExpires time.Time
	// SignWith signs a role ("targets", "snapshot" or "timestamp") with
	// another key than Keys': a key the root does not name makes a
	// repository clients must refuse as badly signed.
	SignWith map[string]crypto.Signer
}

// Files are a repository's files by path under its base URL.
type Files map[string][]byte

// Build signs the targets, snapshot and timestamp metadata of s and returns
// every file a client may ask for.
func Build(s Spec) (Files, error) {
	if s.Keys == nil || len(s.Root) == 0 || s.Expires.IsZero() {
		return nil, errors.New("tufrepo: Keys, Root and Expires are required")
	}
	root, err := (&metadata.Metadata[metadata.RootType]{}).FromBytes(s.Root)
	if err != nil {
		return nil, fmt.Errorf("tufrepo: root: %w", err)
	}
	for role, signer := range s.Keys.byRole() {
		key, err := metadata.KeyFromPublicKey(signer.Public())
		if err != nil {
			return nil, err
		}
		id, err := key.ID()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(root.Signed.Roles[role].KeyIDs, id) {
			return nil, fmt.Errorf("tufrepo: the root does not name the %s key %s", role, id)
		}
	}
	version := s.Version
	if version == 0 {
		version = 1
	}
	expires := s.Expires.UTC().Truncate(time.Second)
	files := Files{}

	targets := metadata.Targets(expires)
	targets.Signed.Version = version
	for _, name := range slices.Sorted(maps.Keys(s.Targets)) {
		data := s.Targets[name]
		tf, err := metadata.TargetFile().FromBytes(name, data, "sha256")
		if err != nil {
			return nil, err
		}
		targets.Signed.Targets[name] = tf
		files[targetPath(name, data, root.Signed.ConsistentSnapshot)] = data
	}
	signer := func(role string) crypto.Signer {
		if k := s.SignWith[role]; k != nil {
			return k
		}
		return s.Keys.byRole()[role]
	}
	targetsJSON, err := signed(targets, signer(metadata.TARGETS))
	if err != nil {
		return nil, err
	}

	snapshot := metadata.Snapshot(expires)
	snapshot.Signed.Version = version
	snapshot.Signed.Meta = map[string]*metadata.MetaFiles{"targets.json": metaFile(version, targetsJSON)}
	snapshotJSON, err := signed(snapshot, signer(metadata.SNAPSHOT))
	if err != nil {
		return nil, err
	}

	tsExpires := expires
	if !s.TimestampExpires.IsZero() {
		tsExpires = s.TimestampExpires.UTC().Truncate(time.Second)
	}
	timestamp := metadata.Timestamp(tsExpires)
	timestamp.Signed.Version = version
	timestamp.Signed.Meta = map[string]*metadata.MetaFiles{"snapshot.json": metaFile(version, snapshotJSON)}
	timestampJSON, err := signed(timestamp, signer(metadata.TIMESTAMP))
	if err != nil {
		return nil, err
	}

	rv := strconv.FormatInt(root.Signed.Version, 10)
	v := strconv.FormatInt(version, 10)
	files[rv+".root.json"] = s.Root
	files["root.json"] = s.Root
	files["timestamp.json"] = timestampJSON
	files[v+".snapshot.json"] = snapshotJSON
	files[v+".targets.json"] = targetsJSON
	files["snapshot.json"] = snapshotJSON
	files["targets.json"] = targetsJSON
	return files, nil
}

// targetPath is where a client looks for a target: with consistent
// snapshots, prefixed with the hex SHA-256 of its content.
func targetPath(name string, data []byte, consistent bool) string {
	if !consistent {
		return "targets/" + name
	}
	sum := sha256.Sum256(data)
	dir, base := filepath.Split(name)
	return "targets/" + dir + hex.EncodeToString(sum[:]) + "." + base
}

func metaFile(version int64, data []byte) *metadata.MetaFiles {
	sum := sha256.Sum256(data)
	return &metadata.MetaFiles{Version: version, Length: int64(len(data)), Hashes: metadata.Hashes{"sha256": sum[:]}}
}

func signed[T metadata.Roles](m *metadata.Metadata[T], key crypto.Signer) ([]byte, error) {
	if err := sign(m, key); err != nil {
		return nil, err
	}
	return m.ToBytes(true)
}

func sign[T metadata.Roles](m *metadata.Metadata[T], key crypto.Signer) error {
	hash := crypto.SHA256
	if _, ok := key.(ed25519.PrivateKey); ok {
		hash = crypto.Hash(0)
	}
	s, err := signature.LoadSigner(key, hash)
	if err != nil {
		return err
	}
	_, err = m.Sign(s)
	return err
}

// Write writes the files under dir, creating it.
func (f Files) Write(dir string) error {
	for name, data := range f {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ServeHTTP serves the files to GET and HEAD requests, as a static mirror
// does; any other path gets 404.
func (f Files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	data, ok := f[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}
