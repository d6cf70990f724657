package sign

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	tilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	rekorgen "github.com/sigstore/rekor/pkg/generated/client"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sigil-dev/sigil/internal/httpretry"
	"github.com/sigil-dev/sigil/setting"
)

// userAgent names sigil to the services.
const userAgent = "sigil"

// newLog returns a Rekor client at base, speaking API version, whose
// requests all go through client — sigil's pooled, retrying transport — so
// that a slow or failing log is retried and timed out like every other
// service.
//
// The clients are made here rather than left to sigstore-go: its Rekor
// creates them lazily on first use without a lock (a data race under
// concurrent signing), and neither rekor's GetRekorClient nor rekor-tiles'
// NewWriter takes a transport (each builds its own retrying client).
func newLog(base string, version int, transport http.RoundTripper) (Log, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Log{}, setting.Errorf(setting.RekorURL, "%q is not an http(s) URL", base)
	}
	// sigstore-go's own timeout would cut a request short of the
	// transport's retries: the transport bounds each attempt instead.
	opts := &sgsign.RekorOptions{BaseURL: base, Version: uint32(version), Timeout: -1}
	svc := httpretry.Service{Name: fmt.Sprintf("Rekor v%d", version), Base: transport}
	if version == 1 {
		// go-openapi reads any other type as a puzzle ("is not supported
		// by the TextConsumer"); Rekor v1 answers JSON.
		svc.Accept = []string{"application/json"}
	}
	client := &http.Client{Transport: svc}
	switch version {
	case 1:
		path := u.Path
		if path == "" || path == "/" {
			path = rekorgen.DefaultBasePath
		}
		rt := httptransport.NewWithClient(u.Host, path, []string{u.Scheme}, client)
		rt.Consumers["application/json"] = runtime.JSONConsumer()
		rt.Producers["application/json"] = runtime.JSONProducer()
		opts.Client = rekorgen.New(rt, strfmt.Default).Entries
	case 2:
		opts.ClientV2 = rekorV2Writer{url: strings.TrimSuffix(base, "/") + "/api/v2/log/entries", client: client}
	default:
		return Log{}, fmt.Errorf("Rekor API version %d: sigil speaks 1 and 2", version)
	}
	return Log{Transparency: namedLog{sgsign.NewRekor(opts), base, version}, URL: base, Version: version}, nil
}

// maxLogResponse bounds a log's answer (an entry with its proof is a few
// KB).
const maxLogResponse = 10 << 20

// rekorV2Writer adds entries to a Rekor v2 log: the one request sigstore-go
// needs of its RekorV2Client, a JSON POST of the entry request, answered
// 201 with the transparency log entry.
type rekorV2Writer struct {
	url    string
	client *http.Client
}

func (w rekorV2Writer) Add(ctx context.Context, entry any) (*protorekor.TransparencyLogEntry, error) {
	h, ok := entry.(*tilespb.HashedRekordRequestV002)
	if !ok {
		return nil, fmt.Errorf("Rekor v2 entry of type %T: only hashedrekord entries are written", entry)
	}
	body, err := protojson.Marshal(&tilespb.CreateEntryRequest{Spec: &tilespb.CreateEntryRequest_HashedRekordRequestV002{HashedRekordRequestV002: h}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxLogResponse))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		msg := strings.TrimSpace(string(raw))
		if len(msg) > 512 {
			msg = msg[:512] + "…"
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, msg)
	}
	var tle protorekor.TransparencyLogEntry
	if err := protojson.Unmarshal(raw, &tle); err != nil {
		return nil, fmt.Errorf("its answer is not a transparency log entry: %w", err)
	}
	return &tle, nil
}

// namedLog tags a log's errors with the log's name and URL: sigstore-go
// returns the services' errors as they come, and the user needs to know
// which service failed.
type namedLog struct {
	sgsign.Transparency
	url string
	v   int
}

func (l namedLog) GetTransparencyLogEntry(ctx context.Context, keyOrCertPEM []byte, b *protobundle.Bundle) error {
	if err := l.Transparency.GetTransparencyLogEntry(ctx, keyOrCertPEM, b); err != nil {
		if se := httpretry.Cause(err); se != err {
			return fmt.Errorf("recording the signature: %w", se)
		}
		return fmt.Errorf("recording the signature in Rekor v%d at %s: %w", l.v, l.url, err)
	}
	return nil
}
