package bridge_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sigil-dev/sigil/internal/testbed/bridge"
)

func TestParseRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    bridge.Rule
		wantErr string
	}{
		{in: "unix:/run/a.sock=tcp:127.0.0.1:3000", want: bridge.Rule{
			Listen: bridge.Endpoint{Network: "unix", Address: "/run/a.sock"},
			Dial:   bridge.Endpoint{Network: "tcp", Address: "127.0.0.1:3000"}}},
		{in: "tcp:[::1]:80=unix:a.sock", want: bridge.Rule{
			Listen: bridge.Endpoint{Network: "tcp", Address: "[::1]:80"},
			Dial:   bridge.Endpoint{Network: "unix", Address: "a.sock"}}},
		{in: "tcp:127.0.0.1:1", wantErr: "LISTEN=DIAL"},
		{in: "tcp:0.0.0.0:80=unix:a", wantErr: "loopback"},
		{in: "unix:a=tcp:10.0.0.1:80", wantErr: "loopback"},
		{in: "unix:a=tcp:localhost:80", wantErr: "loopback"},
		{in: "udp:127.0.0.1:1=unix:a", wantErr: "neither tcp nor unix"},
		{in: "unix:=unix:a", wantErr: "not tcp:HOST:PORT"},
		{in: "unix:a=tcp:127.0.0.1", wantErr: "missing port"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := bridge.ParseRule(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseRule(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}

// TestChain reaches an HTTP server through tcp -> unix -> tcp, as the bed
// reaches a server in another network namespace.
func TestChain(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(append([]byte("echo:"), b...))
	}))
	t.Cleanup(hs.Close)
	sock := filepath.Join(t.TempDir(), "s.sock")
	rules := []bridge.Rule{
		mustRule(t, "unix:"+sock+"="+"tcp:"+strings.TrimPrefix(hs.URL, "http://")),
		mustRule(t, "tcp:127.0.0.1:0=unix:"+sock),
		mustRule(t, "tcp:127.0.0.1:0=unix:"+filepath.Join(t.TempDir(), "nobody.sock")),
	}
	lns, err := bridge.Listen(rules)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- bridge.Serve(ctx, rules, lns, t.Logf) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	resp, err := http.Post("http://"+lns[1].Addr().String(), "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatalf("through the bridge: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "echo:hello" {
		t.Errorf("body = %q, %v; want echo:hello", b, err)
	}

	// A target that is not there closes the connection.
	if _, err := http.Get("http://" + lns[2].Addr().String()); err == nil {
		t.Error("GET through a bridge to nothing succeeded")
	}
}

func TestListenFails(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rules := []bridge.Rule{
		mustRule(t, "tcp:127.0.0.1:0=unix:a"),
		mustRule(t, "tcp:"+ln.Addr().String()+"=unix:a"),
	}
	if _, err := bridge.Listen(rules); err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("Listen on a taken port = %v, want an error naming it", err)
	}
}

func mustRule(t *testing.T, s string) bridge.Rule {
	t.Helper()
	r, err := bridge.ParseRule(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
