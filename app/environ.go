package app

// The environment variables sigil reads outside package ghaction (which
// owns the runner's: INPUT_*, GITHUB_*, RUNNER_*, ACTIONS_ID_TOKEN_* and the
// file commands). The action gets EnvGitHubActor and EnvDockerConfig from
// ghaction's Context; the CLI reads them from its environment, as docker
// and cosign do.
const (
	// EnvGHCRHost names the registry the github-token input is for, when
	// it is not ghcr.io (GitHub Enterprise Server's; the test bed's). Read
	// by both front ends.
	EnvGHCRHost = "SIGIL_GHCR_HOST"
	// EnvGitHubActor is the user name the GitHub token pushes under.
	EnvGitHubActor = "GITHUB_ACTOR"
	// EnvDockerConfig names a directory holding a Docker config.json with
	// registry credentials.
	EnvDockerConfig = "DOCKER_CONFIG"
	// EnvGitHubServerURL is the GitHub server the provenance names as its
	// builder (unset: https://github.com).
	EnvGitHubServerURL = "GITHUB_SERVER_URL"
	// EnvGitHubToken is the CLI's default for --github-token.
	EnvGitHubToken = "GITHUB_TOKEN"
	// EnvIDTokenURL is set when the CLI runs in a workflow step that may
	// request GitHub's OIDC token.
	EnvIDTokenURL = "ACTIONS_ID_TOKEN_REQUEST_URL"
)
