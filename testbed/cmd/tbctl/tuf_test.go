package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TestTUF writes the bed's repositories twice, as two starts of the bed
// do, and reads them as sigstore-go's client does through tufserve's
// handler layout.
func TestTUF(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys, out := filepath.Join(dir, "keys"), filepath.Join(dir, "tuf")
	target := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(target, []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--keys", keys, "--out", out, "--target", "trusted_root.json=" + target}
	if err := tufCmd(args); err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile(filepath.Join(keys, "tuf-root.json"))
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	open := func(name string) (*tuf.Client, error) {
		srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(out, name))))
		defer srv.Close()
		c, err := tuf.New(tuf.DefaultOptions().WithRepositoryBaseURL(srv.URL).WithRoot(root).WithCachePath(cache))
		if err != nil {
			return nil, err
		}
		_, err = c.GetTarget("trusted_root.json")
		return c, err
	}
	if _, err := open(tufGood); err != nil {
		t.Fatalf("the good repository: %v", err)
	}
	if _, err := open(tufExpired); !errors.Is(err, &metadata.ErrExpiredMetadata{}) {
		t.Errorf("the expired repository: err = %v, want expired metadata", err)
	}
	if _, err := open(tufBadSig); !errors.Is(err, &metadata.ErrUnsignedMetadata{}) {
		t.Errorf("the badly signed repository: err = %v, want unsigned metadata", err)
	}

	// A restart keeps the keys and the root.
	if err := tufCmd(args); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(keys, "tuf-root.json")); string(again) != string(root) {
		t.Error("a second run signed a new root")
	}
	if _, err := os.Stat(out + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary directory is left: %v", err)
	}
	if err := tufCmd([]string{"--keys", keys, "--out", out, "--target", "a/b=" + target}); err == nil || !strings.Contains(err.Error(), "NAME without '/'") {
		t.Errorf("a target name with a slash: err = %v", err)
	}
}
