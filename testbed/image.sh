#!/usr/bin/env bash
# testbed/image.sh [TAG]: builds the action image from the repository's own
# Dockerfile on the test bed's Docker daemon (testbed/dockerd.sh), where no
# base image can be pulled, and prints the image ID.
#
# The Dockerfile's two images are replaced by images assembled here with
# `docker import`, from the host and without any registry:
#   sigil-local/go:VERSION     the host's Go toolchain (its GOROOT), a /tmp
#                              and the CA bundle (to reach the module proxy);
#                              built once per Go version and reused;
#   sigil-local/static-base:H  the CA bundle, a /tmp and an /etc/passwd naming
#                              root: the parts of distroless static sigil uses.
# Everything else is the GitHub build: BuildKit, the `build` stage compiling
# the checkout (the repository root as context, minus .dockerignore), the
# final stage. The build runs with --network host to reach the Go module
# proxy; its module and build caches are BuildKit cache mounts kept in the
# daemon's data root, so only the first build is cold (about 4 minutes on 2
# cores).
#
# With SIGIL_IMAGE_BINARY=prebuilt the compile is done on the host instead
# (fast, for iterating) and passed in a context of its own (BINARY=prebuilt).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bed=${SIGIL_TB_DIR:-$root/.testbed}
tag=${1:-sigil:local}
say() { echo "image.sh: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

if [ -z "${DOCKER_HOST:-}" ]; then
	[ -f "$bed/docker/env" ] || die "no Docker daemon: run testbed/dockerd.sh start (or set DOCKER_HOST)"
	# shellcheck source=/dev/null
	. "$bed/docker/env"
	export DOCKER_HOST
fi
# Debian's client of the same package as its dockerd, before any other on
# PATH: a newer client may want a buildx plugin that is absent.
docker=${SIGIL_DOCKER:-}
if [ -z "$docker" ]; then
	if [ -x /usr/bin/docker ]; then docker=/usr/bin/docker; else docker=$(command -v docker) || die "the docker client is missing"; fi
fi
export DOCKER_BUILDKIT=1
command -v go >/dev/null || die "go is missing"
certs=/etc/ssl/certs/ca-certificates.crt
[ -f "$certs" ] || die "$certs is missing; run: apt-get install -y ca-certificates"

work=$(mktemp -d "${TMPDIR:-/tmp}/sigil-image-XXXXXX")
trap 'rm -rf "$work"' EXIT

# rootfs DIR: a /tmp and the CA bundle, the start of both images.
rootfs() {
	mkdir -p "$1/tmp" "$1/etc/ssl/certs"
	chmod 1777 "$1/tmp"
	cp "$certs" "$1/etc/ssl/certs/ca-certificates.crt"
}

gover=$(go env GOVERSION)
goimage=sigil-local/go:$gover
if ! "$docker" image inspect "$goimage" >/dev/null 2>&1; then
	say "assembling $goimage from $(go env GOROOT)"
	rootfs "$work/go"
	mkdir -p "$work/go/usr/local"
	cp -a "$(go env GOROOT)" "$work/go/usr/local/go"
	tar -C "$work/go" -cf - . | "$docker" import \
		-c 'ENV PATH=/usr/local/go/bin:/usr/bin:/bin' \
		-c 'ENV GOTOOLCHAIN=local' \
		- "$goimage" >/dev/null
	rm -rf "$work/go"
fi

# Tagged by the CA bundle's hash: a new bundle makes a new base.
baseimage=sigil-local/static-base:$(sha256sum "$certs" | cut -c1-12)
if ! "$docker" image inspect "$baseimage" >/dev/null 2>&1; then
	rootfs "$work/base"
	echo 'root:x:0:0:root:/root:/sbin/nologin' >"$work/base/etc/passwd"
	tar -C "$work/base" -cf - . | "$docker" import - "$baseimage" >/dev/null
fi

args=(--build-arg "GO_IMAGE=$goimage" --build-arg "BASE_IMAGE=$baseimage"
	--build-arg "GOPROXY=$(go env GOPROXY)" --build-arg "GOSUMDB=$(go env GOSUMDB)"
	--network host -f "$root/Dockerfile" -t "$tag" --iidfile "$work/iid")
if [ "${SIGIL_IMAGE_BINARY:-build}" = prebuilt ]; then
	mkdir -p "$work/ctx"
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$work/ctx/sigil" .)
	cp "$root/LICENSE" "$work/ctx/"
	"$docker" build "${args[@]}" --build-arg BINARY=prebuilt "$work/ctx" >&2
else
	"$docker" build "${args[@]}" "$root" >&2
fi
cat "$work/iid"
echo
