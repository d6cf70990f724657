package ghaction

import "strings"

// DefaultServerURL is Context.ServerURL when GITHUB_SERVER_URL is unset.
const DefaultServerURL = "https://github.com"

// Context is the part of GitHub's workflow context that sigil uses, read
// from the environment variables the runner sets. Fields are "" when their
// variable is unset, except ServerURL.
type Context struct {
	// Actions is true when GITHUB_ACTIONS is "true", that is when running
	// on a GitHub Actions runner.
	Actions bool
	// Repository is GITHUB_REPOSITORY, "owner/name".
	Repository string
	// Actor is GITHUB_ACTOR, the login of the user or app that started the
	// run (the user name the GitHub token pushes to ghcr.io under).
	Actor string
	// ServerURL is GITHUB_SERVER_URL; the default is DefaultServerURL
	// ("https://github.com").
	ServerURL string
	// WorkflowRef is GITHUB_WORKFLOW_REF,
	// "owner/name/.github/workflows/release.yml@refs/tags/v1.0.0".
	WorkflowRef string
	// Ref is GITHUB_REF, e.g. "refs/tags/v1.0.0".
	Ref string
	// SHA is GITHUB_SHA, the commit the workflow runs on.
	SHA string
	// Workspace is GITHUB_WORKSPACE, the checkout directory.
	Workspace string
	// EventName is GITHUB_EVENT_NAME, e.g. "push" or "pull_request".
	EventName string
	// RunnerTemp is RUNNER_TEMP, a directory emptied after each job.
	RunnerTemp string
	// DockerConfig is DOCKER_CONFIG as the step's env sets it: a directory
	// holding a Docker config.json.
	DockerConfig string
	// RunnerWorkspace is RUNNER_WORKSPACE, the runner's directory holding
	// the workspace (a path on the runner, also inside a container action).
	RunnerWorkspace string
}

// ContainerWorkspace is where the runner mounts the workspace in a
// container action (docker run -v <runner workspace>:/github/workspace).
const ContainerWorkspace = "/github/workspace"

// InContainer maps a path on the runner into a container action: a path
// under the runner's workspace ($RUNNER_WORKSPACE/<repository name>, which
// the runner mounts at ContainerWorkspace) becomes the same path under
// ContainerWorkspace. Other paths, and any path outside a container
// action, are returned as they are.
//
// The runner rewrites ${{ github.workspace }} in a container action's
// inputs and env, but not a runner path that reached the environment
// otherwise (GITHUB_ENV written by an earlier step, a job-level env);
// see actions/runner#728 and #2058.
func (c Context) InContainer(path string) string {
	if c.Workspace != ContainerWorkspace || c.RunnerWorkspace == "" || c.Repository == "" {
		return path
	}
	_, name, _ := strings.Cut(c.Repository, "/")
	host := strings.TrimSuffix(c.RunnerWorkspace, "/") + "/" + name
	if rest, ok := strings.CutPrefix(path, host); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
		return ContainerWorkspace + rest
	}
	return path
}

// Context returns the GitHub context read from the environment.
func (r *Runtime) Context() Context {
	c := Context{
		Actions:     r.getenv("GITHUB_ACTIONS") == "true",
		Repository:  r.getenv("GITHUB_REPOSITORY"),
		Actor:       r.getenv("GITHUB_ACTOR"),
		ServerURL:   r.getenv("GITHUB_SERVER_URL"),
		WorkflowRef: r.getenv("GITHUB_WORKFLOW_REF"),
		Ref:         r.getenv("GITHUB_REF"),
		SHA:         r.getenv("GITHUB_SHA"),
		Workspace:   r.getenv("GITHUB_WORKSPACE"),
		EventName:   r.getenv("GITHUB_EVENT_NAME"),
		RunnerTemp:  r.getenv("RUNNER_TEMP"),

		DockerConfig:    r.getenv("DOCKER_CONFIG"),
		RunnerWorkspace: r.getenv("RUNNER_WORKSPACE"),
	}
	if c.ServerURL == "" {
		c.ServerURL = DefaultServerURL
	}
	return c
}
