package fronted

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
)

func TestRewriteTrustFiles(t *testing.T) {
	dir := t.TempDir()
	sc := `{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json",
	"caUrls":[{"url":"http://127.0.0.1:1111","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"}}],
	"rekorTlogUrls":[{"url":"http://127.0.0.1:2222","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"}}],
	"rekorTlogConfig":{"selector":"ANY"},"tsaConfig":{}}`
	in := filepath.Join(dir, "in.json")
	if err := os.WriteFile(in, []byte(sc), 0o644); err != nil {
		t.Fatal(err)
	}
	rewrite := strings.NewReplacer("http://127.0.0.1:1111", "http://127.0.0.1:9001", "http://127.0.0.1:2222", "http://127.0.0.1:9002").Replace
	out := filepath.Join(dir, "out.json")
	if err := rewriteSigningConfig(in, out, rewrite); err != nil {
		t.Fatal(err)
	}
	got, err := root.NewSigningConfigFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	if u := got.FulcioCertificateAuthorityURLs()[0].URL; u != "http://127.0.0.1:9001" {
		t.Errorf("Fulcio URL %s", u)
	}
	if u := got.RekorLogURLs()[0].URL; u != "http://127.0.0.1:9002" {
		t.Errorf("Rekor URL %s", u)
	}
}
