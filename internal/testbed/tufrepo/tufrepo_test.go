package tufrepo

import (
	"crypto"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TestBuild checks each kind of repository against the TUF client sigil
// uses: the good one serves its targets, the broken ones fail the way they
// are meant to.
func TestBuild(t *testing.T) {
	t.Parallel()
	keys, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	root, err := SignRoot(keys, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	target := []byte(`{"hello":"tuf"}`)
	good := Spec{Keys: keys, Root: root, Targets: map[string][]byte{"a.json": target}, Version: 7, Expires: time.Now().Add(time.Hour)}
	expired, badsig := good, good
	expired.TimestampExpires = time.Now().Add(-time.Hour)
	badsig.SignWith = map[string]crypto.Signer{"targets": rogue.Targets}

	tests := []struct {
		name    string
		spec    Spec
		wantErr error
	}{
		{"good", good, nil},
		{"expired timestamp", expired, &metadata.ErrExpiredMetadata{}},
		{"targets signed by another key", badsig, &metadata.ErrUnsignedMetadata{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files, err := Build(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(files)
			defer srv.Close()
			opts := tuf.DefaultOptions().WithRepositoryBaseURL(srv.URL).WithRoot(root).WithCachePath(t.TempDir())
			c, err := tuf.New(opts)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.GetTarget("a.json")
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(target) {
					t.Errorf("target = %q, want %q", got, target)
				}
				return
			}
			if err == nil {
				_, err = c.GetTarget("a.json")
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want a %T", err, tc.wantErr)
			}
		})
	}
}

func TestBuildRefusesKeysTheRootDoesNotName(t *testing.T) {
	t.Parallel()
	keys, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	root, err := SignRoot(keys, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(Spec{Keys: other, Root: root, Expires: time.Now().Add(time.Hour)}); err == nil {
		t.Error("Build signed with keys its root does not name")
	}
}
