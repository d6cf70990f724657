# The sigil action image: one static, non-cgo binary on a minimal base with
# the CA bundle, running as root (GitHub runs container actions as root and
# mounts the workspace and file-command directories owned by the runner).
#
# One Dockerfile, built in two places:
#
#   On GitHub (the release workflow; CI; `docker build .`; a `runs.image:
#   Dockerfile` action, which passes no build arguments): the defaults below.
#   The `build` stage compiles the binary from the checkout on the official
#   Go image; the image is distroless static (CA bundle, /etc/passwd, /tmp,
#   tzdata; root unless its :nonroot tag is used).
#
#   On the test bed, where no base image can be pulled (no Docker Hub, no
#   gcr.io: only the bed's loopback registries answer), the same stages run
#   with the two images replaced by build arguments naming images assembled
#   locally, without any registry (`make image`, e2e/docker):
#     GO_IMAGE    the host's Go toolchain (GOROOT) on an empty image;
#     BASE_IMAGE  the host's CA bundle and a /tmp on an empty image;
#   the module proxy is reached with `docker build --network host`. So the
#   build stage, the .dockerignore'd context, the final stage, its
#   ENTRYPOINT, user and layout are exercised here as on GitHub; only the
#   golang and distroless images themselves are GitHub's alone.
#
#   BINARY=prebuilt skips the compile: it takes ./sigil from the build
#   context, a directory holding LICENSE and a binary built with the same
#   flags (`CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o sigil .`),
#   for a quick local image; the repository root is not such a context (its
#   .dockerignore leaves /sigil out).
#
# No `# syntax=` line on purpose: BuildKit's built-in Dockerfile frontend is
# used, so no docker/dockerfile image has to be pulled. BuildKit (the default
# builder of current Docker; DOCKER_BUILDKIT=1 with Debian's docker.io 20.10)
# builds only the stages the final one needs, so the branch not chosen is
# never pulled or built.

# The images of the GitHub build. Dependabot (docker ecosystem) can pin them
# by digest.
ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static-debian12
# Where the binary comes from: "build" (compile from the checkout) or
# "prebuilt" (./sigil from the build context).
ARG BINARY=build

# --- the binary, compiled from the checkout ---------------------------------
# Runs on the build machine's platform and cross-compiles for the target, so a
# multi-platform build (linux/amd64, linux/arm64) needs no emulation.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
ARG TARGETOS=linux
ARG TARGETARCH
# The module proxy and checksum database, if not Go's defaults.
ARG GOPROXY
ARG GOSUMDB
# The caches' places are set here, not inherited, so the cache mounts below
# hold them whatever the Go image's GOPATH and HOME. The RUN lines use the
# exec form: no shell is needed in the Go image.
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    GOMODCACHE=/go/pkg/mod GOCACHE=/root/.cache/go-build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod ["go", "mod", "download"]
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", "/out/sigil", "."]

# --- the binary, compiled outside (BINARY=prebuilt) ------------------------
# Built with: CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o sigil .
FROM scratch AS prebuilt
COPY sigil /out/sigil

# --- the choice of binary ---------------------------------------------------
FROM ${BINARY} AS binary

# --- the action image -------------------------------------------------------
FROM ${BASE_IMAGE} AS action
COPY --from=binary /out/sigil /usr/local/bin/sigil
COPY LICENSE /usr/share/doc/sigil/LICENSE
# GitHub runs container actions as root; say so rather than inherit it.
USER 0:0
LABEL org.opencontainers.image.title="sigil" \
      org.opencontainers.image.description="Keylessly sign and verify container images and release files with Sigstore, as a GitHub Action or a CLI" \
      org.opencontainers.image.source="https://github.com/sigil-dev/sigil" \
      org.opencontainers.image.licenses="Apache-2.0"
# No arguments and GITHUB_ACTIONS=true: the action; otherwise the CLI
# (`docker run IMAGE sign --help`).
ENTRYPOINT ["/usr/local/bin/sigil"]
