# The sigil action image: one static, non-cgo binary on a minimal base with
# the CA bundle, running as root (GitHub runs container actions as root and
# mounts the workspace and file-command directories owned by the runner).
#
# One Dockerfile, two places it is built:
#
#   On GitHub (the release workflow, and `docker build .` or a `runs.image:
#   Dockerfile` action, which pass no build arguments): the defaults below.
#   The binary is compiled from the checkout in the `build` stage on the
#   official Go image, and lands on distroless static (CA bundle, /etc/passwd,
#   /tmp, tzdata; runs as root unless the :nonroot tag is used).
#
#   On the test bed (no internet: neither golang nor distroless can be
#   pulled, as no registry but the bed's loopback ones is reachable), two
#   build arguments pick stages of this same file instead of pulled images:
#     --build-arg BINARY=prebuilt    the binary is ./sigil in the build
#                                    context, compiled on the host with the
#                                    same flags as the build stage;
#     --build-arg BASE_IMAGE=local-base
#                                    scratch plus ./ca-certificates.crt from
#                                    the build context (the host's bundle).
#   The final stage, its ENTRYPOINT, user and layout are the same in both
#   cases; what only GitHub exercises is the build stage on golang and the
#   distroless base. e2e/docker builds the image this way and runs it as
#   GitHub runs a container action (see `make image`).
#
# No `# syntax=` line on purpose: BuildKit's built-in Dockerfile frontend is
# used, so no docker/dockerfile image has to be pulled. BuildKit (the default
# builder of current Docker, DOCKER_BUILDKIT=1 on Debian's docker.io 20.10)
# builds only the stages the final one needs, so the unused branch of each
# choice is never pulled or built.

# Images of the GitHub build. Dependabot (docker ecosystem) can pin them by
# digest.
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

# --- the binary, compiled outside (the test bed) ----------------------------
# Built with: CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o sigil .
FROM scratch AS prebuilt
COPY sigil /out/sigil

# --- the choice of binary ---------------------------------------------------
FROM ${BINARY} AS binary

# --- the action image -------------------------------------------------------
FROM ${BASE_IMAGE} AS action
COPY --from=binary /out/sigil /usr/local/bin/sigil
# GitHub runs container actions as root; say so rather than inherit it.
USER 0:0
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
LABEL org.opencontainers.image.title="sigil" \
      org.opencontainers.image.description="Keylessly sign and verify container images and release files with Sigstore, as a GitHub Action or a CLI" \
      org.opencontainers.image.source="https://github.com/sigil-dev/sigil" \
      org.opencontainers.image.licenses="Apache-2.0"
# No arguments and GITHUB_ACTIONS=true: the action; otherwise the CLI
# (`docker run IMAGE sign --help`).
ENTRYPOINT ["/usr/local/bin/sigil"]
