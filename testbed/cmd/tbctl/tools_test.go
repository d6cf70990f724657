package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeygen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ  string
		want func(any) bool
	}{
		{"ecdsa-p256", func(k any) bool { _, ok := k.(*ecdsa.PublicKey); return ok }},
		{"ed25519", func(k any) bool { _, ok := k.(ed25519.PublicKey); return ok }},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			key, pub := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub")
			args := []string{"--type", tc.typ, "--out", key, "--pub", pub}
			if err := keygen(args); err != nil {
				t.Fatal(err)
			}
			first, _ := os.ReadFile(key)
			// A second run keeps the key: the bed's log keys are stable.
			if err := keygen(args); err != nil {
				t.Fatal(err)
			}
			if again, _ := os.ReadFile(key); string(again) != string(first) {
				t.Error("keygen replaced an existing key")
			}
			b, _ := os.ReadFile(pub)
			blk, _ := pem.Decode(b)
			if blk == nil || blk.Type != "PUBLIC KEY" {
				t.Fatalf("%s is not a PUBLIC KEY PEM:\n%s", pub, b)
			}
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil || !tc.want(k) {
				t.Errorf("public key %T, %v; want a %s key", k, err, tc.typ)
			}
		})
	}
	if err := keygen([]string{"--type", "rsa", "--out", filepath.Join(t.TempDir(), "k"), "--pub", "p"}); err == nil {
		t.Error("keygen --type rsa succeeded, want an error")
	}
}

func TestSecretAndTokenkey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	if err := secret([]string{pass}); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(pass)
	if err := secret([]string{pass}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(pass); string(again) != string(first) || len(strings.TrimSpace(string(first))) < 32 {
		t.Errorf("secret = %q then %q; want one stable secret of 32 characters", first, again)
	}

	key, cert := filepath.Join(dir, "token.key"), filepath.Join(dir, "token.pem")
	args := []string{"--key", key, "--cert", cert}
	if err := tokenkey(args); err != nil {
		t.Fatal(err)
	}
	kp, err := loadTokenKeys(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	// A second run keeps the pair: the registry trusts the certificate.
	if err := tokenkey(args); err != nil {
		t.Fatal(err)
	}
	if again, err := loadTokenKeys(key, cert); err != nil || !again.Cert.Equal(kp.Cert) {
		t.Errorf("tokenkey replaced an existing key pair (%v)", err)
	}
	// A certificate of another key is an error, not silently replaced.
	other := filepath.Join(dir, "other")
	if err := tokenkey([]string{"--key", other + ".key", "--cert", other + ".pem"}); err != nil {
		t.Fatal(err)
	}
	if err := tokenkey([]string{"--key", key, "--cert", other + ".pem"}); err == nil || !strings.Contains(err.Error(), "delete") {
		t.Errorf("a mismatched pair: %v, want an error saying to delete it", err)
	}
}

func TestEnckey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, pub, pass, enc := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub"), filepath.Join(dir, "pass"), filepath.Join(dir, "k.enc")
	if err := keygen([]string{"--type", "ecdsa-p256", "--out", key, "--pub", pub}); err != nil {
		t.Fatal(err)
	}
	if err := secret([]string{pass}); err != nil {
		t.Fatal(err)
	}
	if err := enckey([]string{"--in", key, "--password-file", pass, "--out", enc}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(enc)
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Headers["DEK-Info"] == "" {
		t.Fatalf("%s is not a legacy encrypted PEM:\n%s", enc, b)
	}
	password, err := readSecret(pass)
	if err != nil {
		t.Fatal(err)
	}
	// Trillian's PEMKeyFile decrypts the key this way.
	//lint:ignore SA1019 the reader under test uses the legacy encryption.
	der, err := x509.DecryptPEMBlock(blk, []byte(password)) //nolint:staticcheck
	if err != nil {
		t.Fatalf("decrypting with the password: %v", err)
	}
	// A wrong password fails the padding check, or (rarely) yields bytes
	// that are no key.
	//lint:ignore SA1019 as above.
	if d, err := x509.DecryptPEMBlock(blk, []byte("wrong")); err == nil { //nolint:staticcheck
		if _, err := x509.ParsePKCS8PrivateKey(d); err == nil {
			t.Error("a wrong password decrypted the key")
		}
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(key)
	oblk, _ := pem.Decode(orig)
	if want, _ := x509.ParsePKCS8PrivateKey(oblk.Bytes); !k.(*ecdsa.PrivateKey).Equal(want) {
		t.Error("the decrypted key is not the original key")
	}
	if err := enckey([]string{"--in", pub, "--password-file", pass, "--out", enc}); err == nil {
		t.Error("enckey of a public key succeeded, want an error")
	}
}
