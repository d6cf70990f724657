package docker

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/testbed/tbenv"
)

// repoRoot is the repository holding this package.
var repoRoot = func() string {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return dir
}()

func TestMain(m *testing.M) {
	code := m.Run()
	if built.tag != "" {
		// Only the tag goes: the layers stay cached for the next run.
		if out, err := built.daemon.command(context.Background(), "rmi", built.tag).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "removing %s: %v\n%s", built.tag, err, out)
		}
	}
	os.Exit(code)
}

// required reports whether tests must fail, not skip, when something they
// need is missing.
func required() bool { return os.Getenv("SIGIL_TESTBED") == "required" }

// skipOrFail skips t, or fails it when SIGIL_TESTBED=required.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if required() {
		t.Fatalf("SIGIL_TESTBED=required, but "+format, args...)
	}
	t.Skipf(format, args...)
}

// daemon is the bed's Docker daemon and the client that speaks to it.
type daemon struct {
	host   string   // DOCKER_HOST
	client string   // the docker binary
	env    []string // the client's environment
}

// loadDaemon returns the daemon of the bed e: DOCKER_HOST (with
// SIGIL_DOCKER, the client) when set, else the env file that
// testbed/dockerd.sh start writes in the bed's directory.
func loadDaemon(t testing.TB, e *tbenv.Env) *daemon {
	t.Helper()
	host, client := os.Getenv("DOCKER_HOST"), os.Getenv("SIGIL_DOCKER")
	if host == "" {
		file := filepath.Join(e.Dir, "docker", "env")
		vars, err := readEnvFile(file)
		if errors.Is(err, os.ErrNotExist) {
			skipOrFail(t, "no Docker daemon for the bed (%s is missing): run testbed/dockerd.sh start", file)
		}
		if err != nil {
			t.Fatal(err)
		}
		host = vars["DOCKER_HOST"]
		if client == "" {
			client = vars["SIGIL_DOCKER"]
		}
	}
	if client == "" {
		// Debian's client before any other: a newer one may want a buildx
		// plugin that is absent.
		client = "/usr/bin/docker"
		if _, err := os.Stat(client); err != nil {
			if client, err = exec.LookPath("docker"); err != nil {
				skipOrFail(t, "no docker client: apt-get install -y --no-install-recommends docker.io")
			}
		}
	}
	d := &daemon{host: host, client: client, env: []string{
		"DOCKER_HOST=" + host,
		"DOCKER_CONFIG=" + t.TempDir(),
		"DOCKER_BUILDKIT=1",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if out, err := d.command(ctx, "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Fatalf("the Docker daemon at %s does not answer (testbed/dockerd.sh start): %v\n%s", host, err, out)
	}
	return d
}

// command returns a docker command against d.
func (d *daemon) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.client, args...)
	cmd.Env = d.env
	return cmd
}

// readEnvFile reads KEY='VALUE' lines, as the bed's scripts write them.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: unparsable line %q", path, line)
		}
		vars[k] = strings.Trim(v, `'"`)
	}
	return vars, sc.Err()
}

// built is the action image, built once for all the tests of a run.
var built struct {
	once   sync.Once
	daemon *daemon
	tag    string
	err    error
	took   time.Duration
}

// actionImage builds the action image from the repository's Dockerfile
// with testbed/image.sh, once, and returns its tag. That is the GitHub
// build with only the golang and distroless images replaced by images
// assembled on the host (see the Dockerfile); a cold build compiles the
// whole program in the container (about 4 minutes on 2 cores), later ones
// reuse BuildKit's cache. SIGIL_IMAGE_BINARY=prebuilt compiles on the host
// instead.
func actionImage(t testing.TB, d *daemon) string {
	t.Helper()
	built.once.Do(func() {
		ctx := context.Background()
		if dl, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
			if deadline, ok := dl.Deadline(); ok {
				// Leave the tests time to report rather than be killed.
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, deadline.Add(-time.Minute))
				defer cancel()
			}
		}
		tag := "sigil-e2e:" + randomHex(t, 6)
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot, "testbed", "image.sh"), tag)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.host, "SIGIL_DOCKER="+d.client)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		built.took = time.Since(start)
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("%w: the test's deadline came first; a cold build compiles the whole program in the container: run `make image` first, or raise go test's -timeout", ctx.Err())
			}
			built.err = fmt.Errorf("testbed/image.sh: %v\n%s", err, out)
			return
		}
		built.daemon, built.tag = d, tag
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	t.Logf("action image %s (built in %s)", built.tag, built.took.Round(time.Second))
	return built.tag
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)[:n]
}
