package ghaction

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

		DockerConfig: r.getenv("DOCKER_CONFIG"),
	}
	if c.ServerURL == "" {
		c.ServerURL = DefaultServerURL
	}
	return c
}
