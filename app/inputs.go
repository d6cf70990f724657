package app

import (
	"slices"
	"strconv"
	"strings"

	"github.com/sigil-dev/sigil/setting"
)

// Mode is what a run does.
type Mode string

// The modes: the action's mode input, the CLI's commands.
const (
	ModeSign   Mode = "sign"
	ModeVerify Mode = "verify"
	ModeMerge  Mode = "merge"
)

// kind is how an input's text is read.
type kind uint8

const (
	kindString      kind = iota
	kindBool             // true/false, as GitHub's toolkit reads them
	kindInt              // a whole number
	kindDuration         // a Go duration: 30s, 2m
	kindList             // one item a line, or comma-separated
	kindKeyValues        // KEY=VALUE lines
	kindCredentials      // HOST=USERNAME:PASSWORD lines
	kindAssignments      // IMAGE_OR_FILE=PATH lines (attestation.ParseAssignments)
)

// Input is one setting of a run: an input of the action and a flag of the
// CLI, of the same name. The table below declares every one of them once;
// the action reader, the CLI's flag sets and the check of action.yml
// (inputs_test.go) are derived from it.
type Input struct {
	// Name is the input's and the flag's name.
	Name string
	// Modes are the modes that read it.
	Modes []Mode
	kind  kind
	// Default is the value an empty input takes, as action.yml states it
	// ("" for none).
	Default string
	// ModeDefault is the value an empty input takes in a mode when it
	// differs between modes (action.yml then states none).
	ModeDefault map[Mode]string
	// FlagDefault replaces Default for the CLI, where Default is a GitHub
	// expression.
	FlagDefault *string
	// Env is an environment variable the CLI reads when the flag is not
	// given.
	Env string
	// Secret inputs are masked in the action's log.
	Secret bool
	// ActionOnly and CLIOnly keep an input to one front end.
	ActionOnly, CLIOnly bool
	// Usage is the flag's one-line help.
	Usage string
	// Description is action.yml's description of the input.
	Description string
}

// Output is one output of the action.
type Output struct {
	Name        string
	Modes       []Mode
	Description string
}

func str(s string) *string { return &s }

var allModes = []Mode{ModeSign, ModeVerify, ModeMerge}
var signVerify = []Mode{ModeSign, ModeVerify}

// Inputs is every input and flag, in the order action.yml lists them.
var Inputs = []Input{
	{Name: "mode", Modes: allModes, Default: "sign", ActionOnly: true,
		Usage: "sign, verify or merge",
		Description: "What to do: `sign` (a release job; needs `permissions: id-token: write`, and `packages: write` to attach signatures on ghcr.io), " +
			"`verify` (any job; fails unless every artifact passes), or `merge` (combine the `signatures` outputs of several sign jobs, " +
			"e.g. a release matrix, into one summary and one set of consumer policies)."},

	// What to sign or verify.
	{Name: "images", Modes: signVerify, kind: kindList,
		Usage: "image references (tags or digests); also positional arguments",
		Description: "Image references, one a line: tags or digests. Sign resolves each tag to its digest once and signs the digest; " +
			"the same digest in several repositories (ghcr.io and docker.io) is signed in each under the one certificate."},
	{Name: "files", Modes: signVerify, kind: kindList,
		Usage: "globs of release files (** matches any depth); each has FILE.sigstore.json",
		Description: "Globs of release files, one a line (`**` matches any depth). Sign writes a Sigstore bundle `FILE.sigstore.json` " +
			"next to each file; verify checks each file against that bundle. A glob that matches no file is an error."},
	{Name: "recursive", Modes: signVerify, kind: kindBool, ModeDefault: map[Mode]string{ModeSign: "true", ModeVerify: "false"},
		Usage: "also sign or verify each platform manifest of a multi-platform index (default: sign true, verify false)",
		Description: "`true` or `false`: also sign or verify each platform manifest of a multi-platform index. " +
			"Default: `true` for sign, `false` for verify."},
	{Name: "format", Modes: signVerify, ModeDefault: map[Mode]string{ModeSign: "both", ModeVerify: "any"},
		Usage: "image signature formats: sign both, bundle or legacy (default both); verify any, bundle or legacy (default any)",
		Description: "Image signature formats. Sign: `both` (default: the Sigstore bundle as an OCI referrer, which cosign v3 reads, " +
			"and the legacy `sha256-DIGEST.sig` tag, which Kyverno, policy-controller and Flux read), `bundle`, or `legacy`. " +
			"Verify: the format required, `any` (default), `bundle` or `legacy`."},
	{Name: "concurrency", Modes: signVerify, kind: kindInt, Default: strconv.Itoa(setting.DefaultConcurrency),
		Usage:       "artifacts handled at once, 1 to " + strconv.Itoa(setting.MaxConcurrency),
		Description: "How many artifacts are signed and logged (or verified) at once, and how many pushed beside them, 1 to 256."},

	{Name: "request-timeout", Modes: signVerify, kind: kindDuration, Default: "30s",
		Usage: "how long one request to a service may take before it is retried (4 attempts)",
		Description: "How long one request to a service (Fulcio, Rekor, the timestamp authority, a registry) may take before it is tried again, " +
			"as a Go duration (`30s`, `2m`); each request is tried 4 times at most, so a service that never answers fails the step after " +
			"about 4 times this. From 1s to 10m."},

	// Registries.
	{Name: "github-token", Modes: signVerify, Default: "${{ github.token }}", FlagDefault: str(""), Env: EnvGitHubToken, Secret: true,
		Usage: "token for ghcr.io",
		Description: "Token for ghcr.io, used with the workflow's actor as the user name. The default is the job's token; " +
			"the job needs `packages: write` to sign and `packages: read` to verify private images. A container action cannot see " +
			"what docker/login-action stored on the runner: give other registries' credentials in `registry-credentials`, " +
			"or a Docker config directory under the workspace as `DOCKER_CONFIG` in the step's `env`."},
	{Name: "registry-credentials", Modes: signVerify, kind: kindCredentials, Secret: true,
		Usage: "HOST=USERNAME:PASSWORD of a registry (repeatable); $DOCKER_CONFIG is read too",
		Description: "Credentials of other registries, one a line: `HOST=USERNAME:PASSWORD`, " +
			"e.g. `docker.io=${{ vars.DOCKERHUB_USER }}:${{ secrets.DOCKERHUB_TOKEN }}`. The passwords are masked in the log."},

	// The Sigstore instance.
	{Name: "signing-config", Modes: []Mode{ModeSign},
		Usage:       "Sigstore signing config JSON naming Fulcio, Rekor and TSA (default: the public instance)",
		Description: "Path of a Sigstore signing config JSON naming the Fulcio, Rekor and timestamp authority to use. Default: the public Sigstore instance."},
	{Name: "fulcio-url", Modes: []Mode{ModeSign},
		Usage: "Fulcio URL; overrides the signing config's", Description: "Fulcio URL; overrides the signing config's."},
	{Name: "rekor-url", Modes: []Mode{ModeSign},
		Usage: "Rekor v1 URL; overrides the signing config's", Description: "Rekor v1 URL; overrides the signing config's."},
	{Name: "tsa-url", Modes: []Mode{ModeSign},
		Usage:       "timestamp authority URL, its full timestamp path; overrides the signing config's",
		Description: "Timestamp authority URL, its full timestamp path; overrides the signing config's."},
	{Name: "trusted-root", Modes: allModes,
		Usage: "Sigstore trusted root JSON of a private instance (default: the public instance's, through TUF)",
		Description: "Path of a Sigstore trusted root JSON (Fulcio roots, Rekor keys, TSA chains), for a private instance. " +
			"Default: the public instance's, fetched and checked through TUF. Sign and merge also write it into the generated consumer policies."},
	{Name: "tuf-mirror", Modes: signVerify, Default: "https://tuf-repo-cdn.sigstore.dev",
		Usage: "TUF repository distributing the trusted root and signing config (default: the public instance's)",
		Description: "The TUF repository sigil reads the trusted root (and, to sign, the signing config) from when `trusted-root` " +
			"(and `signing-config`) are not given, as every Sigstore client does. Default: the public instance's. " +
			"Another repository needs `tuf-root`."},
	{Name: "tuf-root", Modes: signVerify,
		Usage: "initial root.json of --tuf-mirror (default: the public instance's, built in)",
		Description: "Path of the initial `root.json` of `tuf-mirror`, trusted on first use; newer roots must chain to it. " +
			"Default: the public instance's root, built into sigil; required for any other mirror."},
	{Name: "rekor-v2", Modes: []Mode{ModeSign}, kind: kindBool, Default: "false",
		Usage: "sign with the TUF repository's Rekor v2 signing config (Rekor v2 and a timestamp authority)",
		Description: "`true` signs with the signing config the TUF repository publishes for Rekor v2 (`signing_config_rekor_v2.v0.2.json`: " +
			"Rekor v2 and a timestamp authority) instead of its default one. Sigstore asks clients to take Rekor v2 from there " +
			"rather than name a log URL. Not with `signing-config`; legacy signatures still go to its Rekor v1 log."},
	{Name: "allow-public-log", Modes: []Mode{ModeSign}, kind: kindBool, Default: "false",
		Usage: "let a private repository write its name to the public Rekor log",
		Description: "`true` lets a private repository sign with the public Rekor log, which publishes the repository's name in the " +
			"certificate of every entry. Without it, sign refuses before any certificate is requested."},

	// Sign.
	{Name: "skip-signed", Modes: []Mode{ModeSign}, kind: kindBool, Default: "true",
		Usage: "keep what this identity signed already (same workflow, ref and commit): no new signature, log entry or push for it",
		Description: "`true` (the default) signs only what is not signed yet by the identity this run gets (the same workflow, ref and " +
			"commit): a digest that already carries such a verifiable signature, per repository and format, gets no new signature, " +
			"log entry or push, and the outputs say `alreadySigned`. A re-run finishes a failed run without duplicates. " +
			"`false` signs everything anew."},
	{Name: "annotations", Modes: []Mode{ModeSign}, kind: kindKeyValues,
		Usage:       "KEY=VALUE signed into the legacy payload (repeatable)",
		Description: "`KEY=VALUE` annotations, one a line, signed into the legacy signature's payload (not with `format: bundle`)."},

	// Sign: attestations, under the same certificate.
	{Name: "provenance", Modes: []Mode{ModeSign}, kind: kindBool, Default: "false",
		Usage: "attest SLSA v1 build provenance (GitHub's build type) for every image and file",
		Description: "`true` attests SLSA v1 build provenance (predicate `https://slsa.dev/provenance/v1`, GitHub's build type " +
			"`https://actions.github.io/buildtypes/workflow/v1`, as actions/attest-build-provenance writes it) for every image in every " +
			"repository and for the files, built from the job's OIDC token and signed under the same certificate as the signatures."},
	{Name: "sboms", Modes: []Mode{ModeSign}, kind: kindAssignments,
		Usage: "IMAGE_OR_FILE=SBOM: attest an SPDX or CycloneDX JSON SBOM to the images or files named (a reference, path or glob; SBOM alone: every artifact)",
		Description: "SBOMs to attest, one a line: `IMAGE_OR_FILE=PATH`, where the left side is an image reference as given in `images`, " +
			"a file's path, or a glob (`*` matches any run of characters), e.g. `*/org/app:*=sbom/app.spdx.json`; a line with the " +
			"path alone attests that SBOM to every image and file. SPDX 2.x JSON (predicate `https://spdx.dev/Document`) or CycloneDX " +
			"JSON (`https://cyclonedx.org/bom`), decided from the document. A document that is not valid JSON of its kind, a line naming " +
			"no image or file of the step, or an SBOM too large for the transparency log is refused before any token is requested."},
	{Name: "predicate-type", Modes: []Mode{ModeSign},
		Usage:       "the predicate type URI of the predicates",
		Description: "Predicate type URI of the custom predicates in `predicates`, e.g. `https://example.com/test-result/v1`."},
	{Name: "predicates", Modes: []Mode{ModeSign}, kind: kindAssignments,
		Usage: "IMAGE_OR_FILE=PREDICATE: attest a custom JSON predicate (of predicate-type) to the images or files named",
		Description: "Custom predicates to attest, one a line, as `sboms`: `IMAGE_OR_FILE=PATH` (or the path alone, for every artifact), " +
			"each a JSON object of type `predicate-type`."},

	{Name: "policies-dir", Modes: []Mode{ModeSign, ModeMerge}, Default: DefaultPolicyDir, FlagDefault: str(""),
		Usage: "write consumer policies into this directory (the CLI writes none unless given; merge: " + DefaultPolicyDir + ")",
		Description: "Directory, relative to the workspace, that sign and merge write consumer policies into (a Kyverno ClusterPolicy, " +
			"a policy-controller ClusterImagePolicy, a Flux OCIRepository verify block), pinned to the identity that signed."},
	{Name: "policy-refs", Modes: []Mode{ModeSign, ModeMerge}, Default: PolicyRefsTags,
		Usage: "refs the policies admit: tags (the signing workflow at any tag) or exact",
		Description: "Which refs of the signing workflow the generated policies admit: `tags` (the workflow that signed, at any tag, " +
			"so the next release passes the same policies) or `exact` (only the identity that signed, ref included). Sign and merge."},
	{Name: "identity-token", Modes: []Mode{ModeSign}, CLIOnly: true, Secret: true,
		Usage: "OIDC identity token, or @FILE to read it (default: GitHub's token endpoint in a workflow, else an interactive sign-in)"},

	// Verify: whose signature is accepted.
	{Name: "certificate-identity", Modes: []Mode{ModeVerify},
		Usage:       "exact certificate identity, e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.0.0",
		Description: "Exact certificate identity required, e.g. `https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.2.3`."},
	{Name: "certificate-identity-regexp", Modes: []Mode{ModeVerify},
		Usage: "certificate identity, as a regular expression", Description: "Certificate identity required, as a regular expression."},
	{Name: "certificate-oidc-issuer", Modes: []Mode{ModeVerify},
		Usage: "exact OIDC issuer (default: GitHub Actions' issuer)",
		Description: "Exact OIDC issuer required. Default, unless `certificate-oidc-issuer-regexp` is set: GitHub Actions' issuer, " +
			"`https://token.actions.githubusercontent.com`."},
	{Name: "certificate-oidc-issuer-regexp", Modes: []Mode{ModeVerify},
		Usage: "OIDC issuer, as a regular expression", Description: "OIDC issuer required, as a regular expression."},
	{Name: "repository", Modes: []Mode{ModeVerify},
		Usage: "GitHub preset: the signing repository, OWNER/NAME", Description: "GitHub preset: the repository that signed, `OWNER/NAME`."},
	{Name: "workflow", Modes: []Mode{ModeVerify},
		Usage:       "GitHub preset: the signing workflow's path, e.g. .github/workflows/release.yml",
		Description: "GitHub preset: the path of the workflow that signed, e.g. `.github/workflows/release.yml`."},
	{Name: "ref", Modes: []Mode{ModeVerify},
		Usage:       "GitHub preset: a glob the signing ref must match, e.g. refs/tags/v*",
		Description: "GitHub preset: the ref the signing workflow ran on, a glob such as `refs/tags/v*`."},
	{Name: "runner-environment", Modes: []Mode{ModeVerify},
		Usage:       "GitHub preset: github-hosted or self-hosted",
		Description: "GitHub preset: `github-hosted` or `self-hosted`, the runner that signed."},
	{Name: "any-identity-unsafe", Modes: []Mode{ModeVerify}, kind: kindBool, Default: "false",
		Usage: "accept a signature by anyone the trusted root certifies (no identity check)",
		Description: "`true` accepts a signature by anyone the trusted root certifies for the issuer: no identity is checked " +
			"(the issuer, signature, log entry and certificate chain still are). For experiments only; conflicts with every identity input."},
	{Name: "attestations", Modes: []Mode{ModeVerify}, kind: kindList,
		Usage: "attestations each artifact must have: provenance, spdx, cyclonedx or predicate type URIs (repeatable)",
		Description: "Attestations each image and file must carry, one a line: `provenance` (SLSA v1, `https://slsa.dev/provenance/v1`), " +
			"`spdx`, `cyclonedx`, or a predicate type URI. Each must be signed by the identity the policy names, with the artifact's digest " +
			"as its subject; a provenance must also agree with its certificate and the GitHub presets (repository, workflow, ref, runner " +
			"environment). With attestations required, an artifact passes when every one of them does."},
	{Name: "digests", Modes: []Mode{ModeVerify}, kind: kindList,
		Usage: "artifacts held as a digest, not a file: sha256:HEX=BUNDLE (or sha256:HEX with --bundle)",
		Description: "Artifacts held as a digest rather than a file, one a line: `sha256:HEX=BUNDLE`, or `sha256:HEX` with `bundle` for a single one. " +
			"A message signature must be over that digest; a DSSE statement must name it as a subject."},
	{Name: "key", Modes: []Mode{ModeVerify},
		Usage: "PEM public key: accept signatures made with it (cosign sign --key), in place of a certificate identity",
		Description: "Path of a PEM public key (as `cosign generate-key-pair` writes `cosign.pub`): signatures made with that key are verified, " +
			"for images and files, in place of a certificate identity; the identity inputs are then not given."},
	{Name: "bundle", Modes: []Mode{ModeVerify},
		Usage:       "the bundle of the single file or digest (default FILE.sigstore.json)",
		Description: "The bundle of the single file given in `files` or digest in `digests`. Default: `FILE.sigstore.json`."},

	// Merge.
	{Name: "reports", Modes: []Mode{ModeMerge}, kind: kindList,
		Usage: "files holding signatures outputs of sign runs (globs); also positional arguments",
		Description: "Globs of files, one a line, each holding the `signatures` output of one sign step " +
			"(e.g. downloaded artifacts of a release matrix)."},

	// CLI output.
	{Name: "json", Modes: allModes, kind: kindBool, Default: "false", CLIOnly: true,
		Usage: "print JSON (the signatures or the report) instead of text"},
}

// Outputs is every output of the action.
var Outputs = []Output{
	{Name: "signatures", Modes: []Mode{ModeSign, ModeMerge},
		Description: "Sign and merge: JSON of what was signed — per image its repository, digest, signatures and attestations (format, predicate type, where it was pushed, " +
			"Rekor log and index, how it was read back, already signed or logged but not pushed), per file its bundle, the files' attestation bundles, and the signing identity."},
	{Name: "bundles", Modes: []Mode{ModeSign}, Description: "Sign; the bundle paths written for `files`, one a line."},
	{Name: "certificate-identity", Modes: []Mode{ModeSign},
		Description: "Sign: the certificate identity (SAN) Fulcio issued, i.e. what a verifier must pin."},
	{Name: "certificate-oidc-issuer", Modes: []Mode{ModeSign}, Description: "Sign; the OIDC issuer in the certificate."},
	{Name: "policies", Modes: []Mode{ModeSign, ModeMerge},
		Description: "Sign and merge: the directory holding the generated consumer policies; empty when no image got a legacy signature " +
			"(which those consumers read)."},
	{Name: "report", Modes: []Mode{ModeVerify},
		Description: "Verify: JSON report naming each check (signature, transparency log, certificate chain, identity, digest) for each artifact."},
	{Name: "verified", Modes: []Mode{ModeVerify}, Description: "Verify; `true` when every artifact passed, else `false`."},
}

// input returns the table's entry for name; it panics for a name the table
// lacks, which only a programming error can give.
func input(name string) Input {
	i := slices.IndexFunc(Inputs, func(in Input) bool { return in.Name == name })
	if i < 0 {
		panic("app: no input " + name)
	}
	return Inputs[i]
}

// defaultFor is the text an empty input takes in mode m. A default that
// is a GitHub expression (github-token's) is the runner's to evaluate: an
// input left empty on purpose stays empty.
func (in Input) defaultFor(m Mode) string {
	if d, ok := in.ModeDefault[m]; ok {
		return d
	}
	if strings.Contains(in.Default, "${{") {
		return ""
	}
	return in.Default
}

// flagDefault is the CLI flag's default.
func (in Input) flagDefault(m Mode) string {
	if in.FlagDefault != nil {
		return *in.FlagDefault
	}
	return in.defaultFor(m)
}

func (in Input) in(m Mode) bool { return slices.Contains(in.Modes, m) }
