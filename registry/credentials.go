package registry

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sigil-dev/sigil/inputlist"
)

// credentialForm is the form a credentials line must have, quoted in errors.
const credentialForm = "want host=username:password, e.g. ghcr.io=octocat:${{ github.token }}"

// Credential is a username and password for one registry host.
//
// Formatting a Credential with any fmt verb, %#v included, prints
// "host=username:***": the password never reaches a log by accident.
type Credential struct {
	// Host is the registry host, with its port if one was given, as
	// go-containerregistry names it (name.Registry.RegistryStr): lower case,
	// and Docker Hub ("docker.io", "index.docker.io",
	// "registry-1.docker.io") always "index.docker.io".
	Host string
	// Username is the user name, never empty and never containing ':'.
	Username string
	// Password is the password or token, never empty. It may contain ':'
	// and '='.
	Password string
}

// String returns "host=username:***".
func (c Credential) String() string {
	return c.Host + "=" + c.Username + ":***"
}

// Format prints c.String() for every verb, so that no verb prints the
// password.
func (c Credential) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte(c.String()))
}

// dockerHubAliases are the host names of Docker Hub that go-containerregistry
// does not already rewrite to name.DefaultRegistry.
var dockerHubAliases = map[string]bool{
	"registry-1.docker.io": true,
}

// NormalizeHost returns the canonical form of a registry host (with optional
// port) as used in [Credential.Host], or an error when host is not a valid
// registry host. The error does not repeat host.
func NormalizeHost(host string) (string, error) {
	host = strings.ToLower(strings.TrimSpace(host))
	if dockerHubAliases[host] {
		host = name.DefaultRegistry
	}
	reg, err := name.NewRegistry(host, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("not a registry host name (want e.g. ghcr.io or registry.example.com:5000, with no scheme or path)")
	}
	return reg.RegistryStr(), nil
}

// ParseCredentials parses text holding one host=username:password per line,
// such as the registry-credentials input. The line is split at its first
// '=' and the rest at its first ':', so the password may contain both; host
// and username are trimmed, the password is kept as written (the line as a
// whole is trimmed). The host is normalised by [NormalizeHost]. Blank lines
// and comment lines (starting with '#') are ignored. Credentials are returned
// in the order given; it returns nil when text holds no line.
//
// A malformed line, an invalid host or two lines for the same registry are
// errors naming the line numbers and the expected form; they never repeat
// any part of a line.
func ParseCredentials(text string) ([]Credential, error) {
	var creds []Credential
	seen := map[string]int{}
	for _, l := range inputlist.Lines(text) {
		c, err := parseCredential(l.Text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", l.Number, err)
		}
		if first, dup := seen[c.Host]; dup {
			return nil, fmt.Errorf("line %d: same registry as line %d (docker.io, index.docker.io and registry-1.docker.io are one registry)", l.Number, first)
		}
		seen[c.Host] = l.Number
		creds = append(creds, c)
	}
	return creds, nil
}

// parseCredential parses one trimmed, non-empty line. Its errors never
// contain the line.
func parseCredential(text string) (Credential, error) {
	host, userpass, ok := strings.Cut(text, "=")
	if !ok {
		return Credential{}, fmt.Errorf("missing '=' after the host: %s", credentialForm)
	}
	if strings.TrimSpace(host) == "" {
		return Credential{}, fmt.Errorf("empty host: %s", credentialForm)
	}
	h, err := NormalizeHost(host)
	if err != nil {
		return Credential{}, fmt.Errorf("host is %w", err)
	}
	user, pass, ok := strings.Cut(userpass, ":")
	if !ok {
		return Credential{}, fmt.Errorf("missing ':' between username and password: %s", credentialForm)
	}
	user = strings.TrimSpace(user)
	if user == "" {
		return Credential{}, fmt.Errorf("empty username: %s", credentialForm)
	}
	if pass == "" {
		return Credential{}, fmt.Errorf("empty password: %s", credentialForm)
	}
	return Credential{Host: h, Username: user, Password: pass}, nil
}
