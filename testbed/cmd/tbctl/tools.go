package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sigil-dev/sigil/internal/testbed/regtoken"
)

// ports prints N distinct free TCP ports on 127.0.0.1, one a line. They are
// held open until all are chosen, so they differ; another process may still
// take one before the bed does, which the bed's start then reports.
func ports(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: tbctl ports N")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > 100 {
		return fmt.Errorf("N = %q, want a number from 1 to 100", args[0])
	}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// secret writes 24 random bytes, base64url, to a file unless it exists.
func secret(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: tbctl secret FILE")
	}
	if _, err := os.Stat(args[0]); err == nil {
		return nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return writeFileAtomic(args[0], []byte(base64.RawURLEncoding.EncodeToString(b)+"\n"), 0o600)
}

// keygen writes a private key (PKCS#8 PEM) and its public key (PKIX PEM)
// unless the private key exists; an existing key's public half is rewritten.
func keygen(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	typ := fs.String("type", "ecdsa-p256", "key type: ecdsa-p256 or ed25519")
	out := fs.String("out", "", "private key file (required)")
	pub := fs.String("pub", "", "public key file (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *pub == "" {
		return errors.New("--out and --pub are required")
	}
	key, err := readPKCS8(*out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err != nil {
		switch *typ {
		case "ecdsa-p256":
			key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		case "ed25519":
			_, key, err = ed25519.GenerateKey(rand.Reader)
		default:
			return fmt.Errorf("--type %q: want ecdsa-p256 or ed25519", *typ)
		}
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(*out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return err
		}
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return fmt.Errorf("%s holds a %T, which has no public key", *out, key)
	}
	der, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return err
	}
	return writeFileAtomic(*pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// readPKCS8 reads a PKCS#8 PEM private key.
func readPKCS8(path string) (any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s holds no PEM block; delete it to get a new key", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; delete it to get a new key", path, err)
	}
	return key, nil
}

// enckey writes a PKCS#8 PEM private key again, encrypted with a
// password in the legacy PEM way (RFC 1423: Proc-Type and DEK-Info headers,
// AES-256). That is the only form Trillian's PEMKeyFile, through which the
// CT log's front end takes its signing key, reads: it refuses a key without
// a password (github.com/google/trillian crypto/keys/pem, ReadPrivateKeyFile).
// The output is written at every start; the key itself stays the same.
func enckey(args []string) error {
	fs := flag.NewFlagSet("enckey", flag.ContinueOnError)
	in := fs.String("in", "", "PKCS#8 PEM private key (required)")
	passFile := fs.String("password-file", "", "file holding the password (required)")
	out := fs.String("out", "", "encrypted PEM file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *passFile == "" || *out == "" {
		return errors.New("--in, --password-file and --out are required")
	}
	b, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return fmt.Errorf("%s holds no PRIVATE KEY PEM block", *in)
	}
	if _, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	pass, err := readSecret(*passFile)
	if err != nil {
		return err
	}
	//lint:ignore SA1019 Trillian's PEMKeyFile reads only this legacy encryption.
	enc, err := x509.EncryptPEMBlock(rand.Reader, blk.Type, blk.Bytes, []byte(pass), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		return err
	}
	return writeFileAtomic(*out, pem.EncodeToMemory(enc), 0o600)
}

// tokenkey writes the registry token key pair (regtoken.KeyPair: a P-256
// key, PKCS#8 PEM, and its self-signed certificate, PEM) unless the key
// exists, so tokens and the registry's rootcertbundle stay valid across
// restarts.
func tokenkey(args []string) error {
	fs := flag.NewFlagSet("tokenkey", flag.ContinueOnError)
	keyFile := fs.String("key", "", "private key file (required)")
	certFile := fs.String("cert", "", "certificate file (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keyFile == "" || *certFile == "" {
		return errors.New("--key and --cert are required")
	}
	if _, err := loadTokenKeys(*keyFile, *certFile); err == nil {
		return nil
	} else if _, statErr := os.Stat(*keyFile); statErr == nil {
		return fmt.Errorf("%w; delete %s and %s to get a new token key", err, *keyFile, *certFile)
	}
	kp, err := regtoken.NewKeyPair("sigil test bed registry tokens")
	if err != nil {
		return err
	}
	key, cert, err := kp.MarshalPEM()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(*certFile, cert, 0o644); err != nil {
		return err
	}
	return writeFileAtomic(*keyFile, key, 0o600)
}

// loadTokenKeys reads what tokenkey wrote.
func loadTokenKeys(keyFile, certFile string) (*regtoken.KeyPair, error) {
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	kp, err := regtoken.ParseKeyPair(key, cert)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", keyFile, certFile, err)
	}
	return kp, nil
}

// wait polls a URL until it answers with one of the wanted statuses. It
// gives up early when the server's process (--pid) has exited.
func wait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	name := fs.String("name", "", "service name for messages (required)")
	url := fs.String("url", "", "URL to GET (required)")
	statuses := fs.String("status", "200", "comma-separated statuses that mean ready")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait")
	pid := fs.Int("pid", 0, "process serving the URL; waiting stops if it exits")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *url == "" {
		return errors.New("--name and --url are required")
	}
	var want []int
	for s := range strings.SplitSeq(*statuses, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("--status %q: %w", *statuses, err)
		}
		want = append(want, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	last := "no answer yet"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if slices.Contains(want, resp.StatusCode) {
				return nil
			}
			last = fmt.Sprintf("status %d", resp.StatusCode)
		} else {
			last = err.Error()
		}
		if *pid > 0 && syscall.Kill(*pid, 0) != nil {
			return fmt.Errorf("%s exited before answering on %s (last: %s)", *name, *url, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer on %s within %s (last: %s)", *name, *url, *timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// get downloads a URL to a file, failing on any status but 200.
func get(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: tbctl get URL FILE")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(args[0])
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return fmt.Errorf("reading %s: %w", args[0], err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %.200s", args[0], resp.StatusCode, b)
	}
	return writeFileAtomic(args[1], b, 0o644)
}

// writeFileAtomic writes through a temporary file and a rename, so readers
// never see half a file.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
