package authregistry

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
)

// referrersPath matches the OCI referrers API: /v2/<name>/referrers/<digest>.
var referrersPath = regexp.MustCompile(`^/v2/(.+)/referrers/([^/]+)$`)

// artifactTypes fixes go-containerregistry's registry, which lists each
// referrer's artifactType as its config media type: the OCI distribution
// spec (listing referrers) wants the manifest's own artifactType, falling
// back to the config media type only when the manifest has none. Docker
// Hub reports the manifest's, and Kyverno's SigstoreBundle attestor keeps
// only referrers whose listed artifactType is a Sigstore bundle's, so a
// stand-in that misreports it would refuse what Docker Hub serves.
func artifactTypes(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := referrersPath.FindStringSubmatch(r.URL.Path)
		if r.Method != http.MethodGet || m == nil {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var idx struct {
			SchemaVersion int              `json:"schemaVersion"`
			MediaType     string           `json:"mediaType"`
			Manifests     []map[string]any `json:"manifests"`
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &idx) != nil {
			copyResponse(w, rec)
			return
		}
		for _, d := range idx.Manifests {
			digest, _ := d["digest"].(string)
			if at := manifestArtifactType(h, r, m[1], digest); at != "" {
				d["artifactType"] = at
			}
		}
		b, err := json.Marshal(idx)
		if err != nil {
			copyResponse(w, rec)
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	})
}

// manifestArtifactType reads a manifest of repo through h, with r's
// credentials, and returns its artifactType.
func manifestArtifactType(h http.Handler, r *http.Request, repo, digest string) string {
	req := r.Clone(r.Context())
	req.URL.Path = "/v2/" + repo + "/manifests/" + digest
	req.URL.RawQuery = ""
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m struct {
		ArtifactType string `json:"artifactType"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
		return ""
	}
	return m.ArtifactType
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(bytes.Clone(rec.Body.Bytes()))
}
