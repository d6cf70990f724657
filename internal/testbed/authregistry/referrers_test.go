package authregistry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// TestReferrersListManifestArtifactType: the listed artifactType is the
// referrer manifest's own, as the OCI distribution spec says (and Docker
// Hub does), not go-containerregistry's config media type.
func TestReferrersListManifestArtifactType(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(artifactTypes(ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0)))))
	t.Cleanup(srv.Close)
	subject := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`
	sum := sha256.Sum256([]byte(subject))
	subjectDigest := "sha256:" + hex.EncodeToString(sum[:])
	put := func(ref, body string) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v2/org/app/manifests/"+ref, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %v %v", ref, resp, err)
		}
		resp.Body.Close()
	}
	put("v1", subject)
	const bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	referrer := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"` + bundleType + `","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + subjectDigest + `","size":` + strconv.Itoa(len(subject)) + `}}`
	rsum := sha256.Sum256([]byte(referrer))
	put("sha256:"+hex.EncodeToString(rsum[:]), referrer)
	resp, err := http.Get(srv.URL + "/v2/org/app/referrers/" + subjectDigest)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var idx struct {
		Manifests []struct {
			ArtifactType string `json:"artifactType"`
		} `json:"manifests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil || len(idx.Manifests) != 1 || idx.Manifests[0].ArtifactType != bundleType {
		t.Errorf("referrers list %+v (%v), want one of artifactType %s", idx, err, bundleType)
	}
}
