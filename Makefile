# The test bed (see README.md, "Test bed"): a real Sigstore and registries
# standing for ghcr.io and docker.io on 127.0.0.1. SIGIL_TB_DIR picks the
# bed's directory (default .testbed). As root, each target first installs
# the Debian packages it needs (testbed/packages.sh; otherwise it prints the
# apt-get command).
.PHONY: testbed testbed-down test demo tools lint packages-test

testbed:
	./testbed/packages.sh bed
	./testbed/up.sh

testbed-down:
	./testbed/down.sh
	./testbed/dockerd.sh stop

# The main job on the bed: push a small release, sign it as a GitHub step
# would, verify it with a GitHub preset, and say where everything went.
demo: testbed
	./testbed/demo.sh

# What the tests run besides the bed, each built once into the bed's cache:
# the reference clients (cosign v2 and v3), the cluster verifiers (Kyverno
# CLI, policy-tester), actionlint and staticcheck, GitHub's @actions/attest
# (npm, run with node), and the action image on the bed's own Docker daemon.
# The bed itself runs none of them.
tools:
	./testbed/install.sh tools >/dev/null
	./testbed/install-actions-attest.sh >/dev/null
	$(MAKE) image

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; [ -z "$$unformatted" ] || { echo "gofmt: not formatted (run gofmt -w):"; echo "$$unformatted"; exit 1; }
	go vet ./...
	"$$(./testbed/install-gotool.sh staticcheck)" ./...

# Every test runs, with the bed required: none may skip for want of it.
test: packages-test testbed tools lint
	SIGIL_TESTBED=required go test -race -shuffle=on -timeout 40m ./...

packages-test:
	./testbed/packages.sh test

# The cluster-side verifiers the policy tests run (Kyverno CLI,
# policy-controller's tester), built once into the bed's cache.
.PHONY: verifiers
verifiers:
	./testbed/install-verifiers.sh

# Benchmark: sigil against cosign v2.6.5 on the bed, every request through
# the latency proxy (20 ms each way): images (legacy, both formats, a
# re-sign, provenance, Rekor v2 with the TSA; sign and verify), then files
# (sign --files against a cosign sign-blob loop, verify, one sparse big
# file for peak RSS); results into BENCHMARKS.md, a log-log plot of wall
# time against N into bench/wall-time.png. Not part of `make test`: about
# 35 minutes on 2 cores. Flags of bench/ go in BENCH_FLAGS, e.g.
# BENCH_FLAGS='-n 10 -runs 10=1 -files 10' for a quick look; cosign is
# left out above -cosign-max (100) images or files.
.PHONY: bench
bench:
	./testbed/packages.sh bench
	./testbed/up.sh
	./testbed/install.sh clients >/dev/null
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bin/sigil .
	go build -o bin/sigil-bench ./bench
	./bin/sigil-bench -sigil bin/sigil $(BENCH_FLAGS)

# The action image, built from this checkout's Dockerfile on the bed's own
# Docker daemon (testbed/dockerd.sh), with the golang and distroless images
# replaced by images assembled from the host (see the Dockerfile). The first
# build compiles everything in the container (about 4 minutes on 2 cores);
# e2e/docker then reuses its cache. IMAGE names the tag.
IMAGE ?= sigil:local
.PHONY: image
image:
	./testbed/dockerd.sh start
	./testbed/image.sh $(IMAGE)

# actionlint (with shellcheck) over every workflow, and action.yml checked
# against the inputs and outputs the program reads and writes.
.PHONY: lint-actions
lint-actions:
	./testbed/install-actionlint.sh >/dev/null
	SIGIL_TESTBED=required go test -count=1 -run '^(TestActionMetadata|TestWorkflowsUseDeclaredInputs|TestActionlint)$$' ./e2e/docker

# The fault matrix (e2e TestFaultMatrix, part of `make test`): every
# service under every fault through the bed's proxy, written as a table
# into RELIABILITY.md.
.PHONY: faults
faults: testbed
	SIGIL_TESTBED=required go test -count=1 -run '^TestFaultMatrix$$' ./e2e -reliability $(CURDIR)/RELIABILITY.md

# The Sigstore client conformance suite (conformance/README.md): the suite's
# own pytest code at a pinned commit, verification cases only and offline,
# against sigil and against sigstore-go's conformance client (the
# reference); one summary line per client, per-test results in
# conformance/results/. Needs no test bed.
.PHONY: conformance
conformance:
	./testbed/packages.sh conformance
	CGO_ENABLED=0 go build -trimpath -o bin/sigil .
	./conformance/run.sh
