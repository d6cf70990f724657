package registry

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// credentialErrors are the credential errors the tests expect, also used by
// FuzzParseCredentials as the only shapes an error may take.
var credentialErrors = map[string]string{
	"no equals":      "line 1: missing '=' after the host: want host=username:password, e.g. ghcr.io=octocat:${{ github.token }}",
	"empty host":     "line 2: empty host: want host=username:password, e.g. ghcr.io=octocat:${{ github.token }}",
	"bad host":       "line 1: host is not a registry host name (want e.g. ghcr.io or registry.example.com:5000, with no scheme or path)",
	"no colon":       "line 1: missing ':' between username and password: want host=username:password, e.g. ghcr.io=octocat:${{ github.token }}",
	"empty username": "line 1: empty username: want host=username:password, e.g. ghcr.io=octocat:${{ github.token }}",
	"empty password": "line 1: empty password: want host=username:password, e.g. ghcr.io=octocat:${{ github.token }}",
	"duplicate":      "line 3: same registry as line 1 (docker.io, index.docker.io and registry-1.docker.io are one registry)",
}

func TestParseCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []Credential
		// secret must not appear in the error.
		secret string
	}{
		{name: "empty", text: "\n# ghcr.io=a:b\n"},
		{
			name: "several",
			text: "ghcr.io=octocat:ghp_s3cr3t\n\n# Docker Hub\n docker.io = flux : dckr_pat=with:colons= \nLocalhost:5000=u:p\r\n",
			want: []Credential{
				{Host: "ghcr.io", Username: "octocat", Password: "ghp_s3cr3t"},
				{Host: "index.docker.io", Username: "flux", Password: " dckr_pat=with:colons="},
				{Host: "localhost:5000", Username: "u", Password: "p"},
			},
		},
		{name: "registry-1 alias", text: "registry-1.docker.io=u:p", want: []Credential{{Host: "index.docker.io", Username: "u", Password: "p"}}},
		{name: "no equals", text: "ghcr.io:octocat:hunter2hunter2", secret: "hunter2hunter2"},
		{name: "empty host", text: "\n=octocat:hunter2hunter2", secret: "hunter2hunter2"},
		{name: "bad host", text: "octocat:hunter2hunter2@ghcr.io=x:y", secret: "hunter2hunter2"},
		{name: "no colon", text: "ghcr.io=hunter2hunter2", secret: "hunter2hunter2"},
		{name: "empty username", text: "ghcr.io=:hunter2hunter2", secret: "hunter2hunter2"},
		{name: "empty password", text: "ghcr.io=octocat:"},
		{name: "duplicate", text: "docker.io=a:hunter2hunter2\n\nindex.docker.io=b:hunter2hunter2", secret: "hunter2hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCredentials(tt.text)
			if diff := cmp.Diff(credentialErrors[tt.name], errString(err)); diff != "" {
				t.Errorf("ParseCredentials(%q) error mismatch (-want +got):\n%s", tt.text, diff)
			}
			if tt.secret != "" && err != nil && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q echoes the password", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCredentials(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestCredentialFormatHidesPassword(t *testing.T) {
	t.Parallel()
	c := Credential{Host: "ghcr.io", Username: "octocat", Password: "hunter2"}
	const want = "ghcr.io=octocat:***"
	tests := []struct {
		format string
		arg    any
		want   string
	}{
		{"%v", c, want}, {"%+v", c, want}, {"%#v", c, want}, {"%s", c, want},
		{"%q", c, want}, {"%x", c, want}, {"%d", c, want},
		{"%v", []Credential{c}, "[" + want + "]"},
		{"%+v", struct{ C Credential }{c}, "{C:" + want + "}"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, fmt.Sprintf(tt.format, tt.arg)); diff != "" {
			t.Errorf("Sprintf(%q, %T) mismatch (-want +got):\n%s", tt.format, tt.arg, diff)
		}
	}
}

var digits = regexp.MustCompile(`[0-9]+`)

func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{"ghcr.io=u:p", "docker.io=u:p:q=r\nindex.docker.io=v:w", "=u:p", "h", "h=u", "h=:p", "h=u:", "a:b@c=d:e", "#x\n\nlocalhost:5000=u:p"} {
		f.Add(s, "hunter2hunter2")
	}
	// Every error must be one of the known messages, whatever the input:
	// with line numbers set aside, an error carries nothing of the text.
	known := map[string]bool{}
	for _, e := range credentialErrors {
		known[digits.ReplaceAllString(e, "N")] = true
	}
	f.Fuzz(func(t *testing.T, text, password string) {
		text = strings.ReplaceAll(text, "PASSWORD", password)
		creds, err := ParseCredentials(text)
		if err != nil {
			if creds != nil {
				t.Fatalf("ParseCredentials returned %v with error %v", creds, err)
			}
			if shape := digits.ReplaceAllString(err.Error(), "N"); !known[shape] {
				t.Fatalf("ParseCredentials(%q): unexpected error %q", text, err)
			}
			return
		}
		var b strings.Builder
		for _, c := range creds {
			if c.Host == "" || c.Username == "" || c.Password == "" || strings.Contains(c.Username, ":") || strings.ContainsAny(c.Host+c.Username+c.Password, "\n") {
				t.Fatalf("ParseCredentials(%q) returned bad credential %q", text, []string{c.Host, c.Username, c.Password})
			}
			if h, err := NormalizeHost(c.Host); err != nil || h != c.Host {
				t.Fatalf("host %q is not normalised: %q, %v", c.Host, h, err)
			}
			if got := fmt.Sprintf("%#v", c); got != c.String() {
				t.Fatalf("%%#v printed %q", got)
			}
			fmt.Fprintf(&b, "%s=%s:%s\n", c.Host, c.Username, c.Password)
		}
		again, err := ParseCredentials(b.String())
		if err != nil {
			t.Fatalf("reparsing: %v", err)
		}
		if diff := cmp.Diff(creds, again); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
	})
}
