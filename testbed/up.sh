#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Starts the test bed: a real Sigstore (Fulcio with a CT log, Rekor v1 on
# Trillian and MariaDB, Rekor v2, a timestamp authority, a TUF repository
# serving its trust material), registry stand-ins for ghcr.io and docker.io
# and the GitHub runtime stand-in, all on 127.0.0.1, then writes
# $SIGIL_TB_DIR/env.
#
# Idempotent: a running, healthy bed is reused; a half-running one is stopped
# and started again. SIGIL_TB_DIR (default: .testbed in the repository) holds
# everything of one bed, so two beds with two directories run side by side.
# Rekor v1 (with Trillian and Fulcio) and the timestamp authority each run in
# a network namespace of their own, because both hard-code a listener on
# :2112; bridges (tbctl) join those namespaces to the host's loopback through
# unix sockets in $SIGIL_TB_DIR/run. Needs root (unshare -n, nsenter).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
dir=${SIGIL_TB_DIR:-$root/.testbed}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
run=$dir/run logs=$dir/logs keys=$dir/keys state=$dir/state
mkdir -p "$run" "$logs" "$keys" "$state" "$dir/bin"
started=$SECONDS

say() { echo "testbed: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# One start at a time per bed directory. The servers must not inherit the
# lock's descriptor (start closes it), or the lock would outlive this script.
exec 9>"$dir/up.lock"
flock -w 600 9 || die "another testbed/up.sh has held $dir/up.lock for 10 minutes"

# Unix socket paths are limited to 107 bytes.
[ ${#run} -le 80 ] || die "SIGIL_TB_DIR $dir is too long for unix sockets (use a path under 70 characters)"
[ "$(id -u)" = 0 ] || die "the test bed needs root: it runs servers in network namespaces (unshare -n, nsenter)"
for tool in unshare nsenter setsid ip flock mariadbd mariadb mariadb-install-db mariadb-admin go; do
	command -v "$tool" >/dev/null || die "$tool is missing; run testbed/packages.sh bed (as root it installs the packages; \`make testbed\` runs it)"
done

alive() { [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }

# The processes of a bed, in start order.
services=(mysqld ns-log ns-tsa tbctl registry rekor2 tsa fulcio trillian-server trillian-signer rekor ctlog tuf)

# Reuse a running bed whose env file exists and whose services all answer.
if [ -f "$dir/env" ] && [ -x "$dir/bin/tbctl" ]; then
	healthy=1
	for s in "${services[@]}"; do alive "$s" || { healthy=0; break; }; done
	if [ $healthy = 1 ]; then
		# shellcheck source=/dev/null
		. "$dir/env"
		for url in "$SIGIL_TB_ISSUER/.well-known/openid-configuration" "$SIGIL_TB_FULCIO_URL/api/v1/rootCert" \
			"$SIGIL_TB_REKOR_URL/api/v1/log" "$SIGIL_TB_REKOR_V2_URL/healthz" "$SIGIL_TB_TSA_URL/api/v1/timestamp/certchain" \
			"$SIGIL_TB_CTLOG_URL/ct/v1/get-sth" "$SIGIL_TB_TUF_URL/timestamp.json"; do
			"$dir/bin/tbctl" wait --name check --url "$url" --timeout 5s 2>/dev/null || { healthy=0; break; }
		done
	fi
	if [ $healthy = 1 ]; then
		say "reusing the running bed in $dir (source $dir/env)"
		exit 0
	fi
fi
for s in "${services[@]}"; do
	if alive "$s"; then
		say "a bed in $dir is partly running or unhealthy: stopping it first"
		SIGIL_TB_DIR=$dir "$here/down.sh"
		break
	fi
done
rm -f "$dir/env"

# On any failure, stop what was started; the logs stay.
on_exit() {
	local rc=$?
	if [ $rc != 0 ]; then
		say "start failed; stopping what was started (logs in $logs)"
		disown -a # bash need not report the jobs down.sh ends
		SIGIL_TB_DIR=$dir "$here/down.sh" >/dev/null 2>&1 || true
	fi
}
trap on_exit EXIT

# --- binaries -----------------------------------------------------------
say "building tbctl"
(cd "$root" && CGO_ENABLED=0 go build -o "$dir/bin/tbctl" ./testbed/cmd/tbctl) || die "building testbed/cmd/tbctl failed"
tbctl=$dir/bin/tbctl
cache=$("$here/install.sh") || die "testbed/install.sh failed"
bin() { echo "$cache/$1-$2"; }
fulcio=$(bin fulcio "$FULCIO_VERSION")/fulcio
tlserver=$(bin trillian "$TRILLIAN_VERSION")/trillian_log_server
tlsigner=$(bin trillian "$TRILLIAN_VERSION")/trillian_log_signer
createtree=$(bin trillian-createtree "$TRILLIAN_VERSION")/createtree
ctfe=$(bin ctfe "$CTFE_VERSION")/ct_server
schema=$(bin trillian "$TRILLIAN_VERSION")/storage.sql
rekor=$(bin rekor "$REKOR_VERSION")/rekor-server
rekor2=$(bin rekor-tiles "$REKOR_TILES_VERSION")/posix
tsa=$(bin tsa "$TSA_VERSION")/timestamp-server
registry=$(bin distribution "$DISTRIBUTION_VERSION")/registry
# The reference clients: the bed runs neither; `make test` installs them
# there (testbed/install.sh tools), and the env file names them for tests.
cosign2=$(bin cosign2 "$COSIGN2_VERSION")/cosign
cosign3=$(bin cosign3 "$COSIGN3_VERSION")/cosign

# --- secrets and keys (kept across restarts) ----------------------------
"$tbctl" secret "$keys/token"
"$tbctl" secret "$keys/ghcr.password"
"$tbctl" secret "$keys/dockerhub.password"
"$tbctl" secret "$keys/registry.secret"
"$tbctl" keygen --type ecdsa-p256 --out "$keys/rekor.key" --pub "$keys/rekor.pub"
"$tbctl" keygen --type ed25519 --out "$keys/rekor2.key" --pub "$keys/rekor2.pub"
# Signs the registry tokens of both docker.io stand-ins; the distribution
# registry trusts its certificate (rootcertbundle).
"$tbctl" tokenkey --key "$keys/registry-token.key" --cert "$keys/registry-token.pem"
# The CT log's key (ECDSA P-256, as the public CT logs'), stable like
# Rekor's; its front end reads it only password-encrypted.
"$tbctl" keygen --type ecdsa-p256 --out "$keys/ctlog.key" --pub "$keys/ctlog.pub"
"$tbctl" secret "$keys/ctlog.password"
"$tbctl" enckey --in "$keys/ctlog.key" --password-file "$keys/ctlog.password" --out "$keys/ctlog.key.enc"

# --- ports --------------------------------------------------------------
# Host ports are chosen free; inside a namespace the ports are fixed, since
# each namespace has a loopback of its own.
mapfile -t p < <("$tbctl" ports 16)
github=${p[0]} ghcr=${p[1]} dockerhub=${p[2]} fulcio_port=${p[3]} fulcio_metrics=${p[4]}
rekor_port=${p[5]} rekor2_http=${p[6]} rekor2_grpc=${p[7]} rekor2_metrics=${p[8]} tsa_port=${p[9]}
ghcr_redirect=${p[10]} pages=${p[11]} dockerhub_auth=${p[12]} dockerhub_noref=${p[13]} ctlog_port=${p[14]} tuf_port=${p[15]}
# Docker Hub's token service lives on another host (auth.docker.io); the
# bed's is named localhost, not 127.0.0.1: go-containerregistry refuses a
# bearer realm that is a loopback or private IP literal other than the
# registry's own host:port (validateRealmURL in pkg/v1/remote/transport,
# go-containerregistry#2258), and resolves no names, so a name passes.
dockerhub_realm=http://localhost:$dockerhub_auth/token
in_rekor=3000 in_fulcio=5555 in_fulcio_grpc=5554 in_fulcio_metrics=2113 in_tsa=3000
in_trillian_rpc=8090 in_trillian_http=8091 in_signer_rpc=8092 in_signer_http=8093 in_ctlog=6962
# The CT log's URL prefix (the public log's is 2022).
ctlog_prefix=sigil

# start NAME CMD...: runs CMD detached, logging to logs/NAME.log, pid in run/NAME.pid.
start() {
	local name=$1; shift
	setsid "$@" </dev/null >"$logs/$name.log" 2>&1 9>&- &
	echo $! >"$run/$name.pid"
}
# netns NS: the network namespace held by service NS, for nsenter --net.
netns() { echo "/proc/$(cat "$run/$1.pid")/ns/net"; }
# fail NAME MESSAGE: report a service that did not come up, with its log.
fail() {
	say "ERROR: $1 did not come up: $2"
	say "last lines of $logs/$1.log:"
	tail -n 30 "$logs/$1.log" >&2 || true
	exit 1
}
# ready NAME URL [STATUSES] [TIMEOUT]: waits for URL, bounded, watching NAME's process.
ready() {
	local err
	err=$("$tbctl" wait --name "$1" --url "$2" --status "${3:-200}" --timeout "${4:-60s}" --pid "$(cat "$run/$1.pid")" 2>&1) || fail "$1" "$err"
}

say "starting in $dir"
rm -f "$run"/*.sock "$run"/*.pid

# --- MariaDB for Trillian, on a unix socket only --------------------------
db=$state/mysql sock=$run/mysqld.sock
if [ ! -f "$db/.sigil-initialized" ]; then
	rm -rf "$db"
	mariadb-install-db --no-defaults --datadir="$db" --user=root --auth-root-authentication-method=normal \
		--skip-test-db >"$logs/mysqld-init.log" 2>&1 || { tail -n 30 "$logs/mysqld-init.log" >&2; die "mariadb-install-db failed"; }
fi
start mysqld mariadbd --no-defaults --datadir="$db" --socket="$sock" --pid-file="$run/mariadbd.pidfile" \
	--skip-networking --user=root --log-error="$logs/mysqld.log" --innodb-buffer-pool-size=64M

# --- network namespaces, each held by the inner end of its bridges --------
# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
start ns-log unshare -n sh -c 'ip link set lo up && exec "$0" bridge "$@"' "$tbctl" \
	--forward "unix:$run/rekor.sock=tcp:127.0.0.1:$in_rekor" \
	--forward "unix:$run/fulcio.sock=tcp:127.0.0.1:$in_fulcio" \
	--forward "unix:$run/fulcio-metrics.sock=tcp:127.0.0.1:$in_fulcio_metrics" \
	--forward "unix:$run/ctlog.sock=tcp:127.0.0.1:$in_ctlog" \
	--forward "tcp:127.0.0.1:$github=unix:$run/github.sock"
# shellcheck disable=SC2016
start ns-tsa unshare -n sh -c 'ip link set lo up && exec "$0" bridge "$@"' "$tbctl" \
	--forward "unix:$run/tsa.sock=tcp:127.0.0.1:$in_tsa"

# --- host side: GitHub stand-in, registry stand-ins, outer bridge ends -----
# A repository whose first path component is "public" may be pulled
# anonymously on every registry of the bed; every other one is private.
start tbctl "$tbctl" serve --github-listen "127.0.0.1:$github" --token-file "$keys/token" --key-file "$keys/issuer.key" \
	--registry-token-key "$keys/registry-token.key" --registry-token-cert "$keys/registry-token.pem" --public-namespace public \
	--ghcr-listen "127.0.0.1:$ghcr" --ghcr-redirect-listen "127.0.0.1:$ghcr_redirect" --pages-listen "127.0.0.1:$pages" \
	--ghcr-user sigil --ghcr-password-file "$keys/ghcr.password" \
	--dockerhub-auth-listen "127.0.0.1:$dockerhub_auth" --dockerhub-realm "$dockerhub_realm" \
	--dockerhub-referrers-listen "127.0.0.1:$dockerhub" --dockerhub-user sigil --dockerhub-password-file "$keys/dockerhub.password" \
	--forward "tcp:127.0.0.1:$rekor_port=unix:$run/rekor.sock" \
	--forward "tcp:127.0.0.1:$fulcio_port=unix:$run/fulcio.sock" \
	--forward "tcp:127.0.0.1:$fulcio_metrics=unix:$run/fulcio-metrics.sock" \
	--forward "tcp:127.0.0.1:$tsa_port=unix:$run/tsa.sock" \
	--forward "tcp:127.0.0.1:$ctlog_port=unix:$run/ctlog.sock" \
	--forward "unix:$run/github.sock=tcp:127.0.0.1:$github"

# --- docker.io stand-in without the referrers API: the distribution
# registry, with its own token auth trusting the bed's token service ------
rm -rf "$state/dockerhub"
cat >"$dir/registry.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $state/dockerhub
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$dockerhub_noref
  secret: $(cat "$keys/registry.secret")
auth:
  token:
    realm: $dockerhub_realm
    service: registry.docker.io
    issuer: auth.docker.io
    rootcertbundle: $keys/registry-token.pem
EOF
OTEL_TRACES_EXPORTER=none OTEL_SDK_DISABLED=true start registry "$registry" serve "$dir/registry.yml"

# --- Rekor v2 (tiles on disk) ---------------------------------------------
rm -rf "$state/rekor2"
mkdir -p "$state/rekor2"
start rekor2 "$rekor2" serve --hostname=127.0.0.1 \
	--http-address=127.0.0.1 --http-port="$rekor2_http" --grpc-address=127.0.0.1 --grpc-port="$rekor2_grpc" \
	--http-metrics-port="$rekor2_metrics" --storage-dir="$state/rekor2" --signer-filepath="$keys/rekor2.key" \
	--checkpoint-interval=500ms

# Wait for the namespaces before starting anything inside them.
# Each namespace is up once its bridge has made its first socket.
for ns_sock in ns-log:rekor ns-tsa:tsa; do
	ns=${ns_sock%:*} sockname=${ns_sock#*:}
	for _ in $(seq 100); do [ -S "$run/$sockname.sock" ] && break; sleep 0.1; done
	if [ ! -S "$run/$sockname.sock" ] || ! alive "$ns"; then
		fail "$ns" "its bridge made no socket $run/$sockname.sock within 10s"
	fi
done

# --- TSA ------------------------------------------------------------------
start tsa nsenter --net="$(netns ns-tsa)" -- "$tsa" serve --host=127.0.0.1 --port=$in_tsa --timestamp-signer=memory --disable-ntp-monitoring

# --- Fulcio, trusting the stand-in as a github-workflow issuer -----------
# It sends each certificate to the CT log as a precertificate first and
# embeds the log's SCT, checked with the log's key, in the certificate.
issuer=http://127.0.0.1:$github
cat >"$dir/fulcio.json" <<EOF
{"OIDCIssuers":{"$issuer":{"IssuerURL":"$issuer","ClientID":"sigstore","Type":"github-workflow"}}}
EOF
start fulcio nsenter --net="$(netns ns-log)" -- "$fulcio" serve --ca=ephemeralca --config-path="$dir/fulcio.json" \
	--ct-log-url="http://127.0.0.1:$in_ctlog/$ctlog_prefix" --ct-log-public-key-path="$keys/ctlog.pub" \
	--host=127.0.0.1 --port=$in_fulcio --grpc-host=127.0.0.1 --grpc-port=$in_fulcio_grpc \
	--metrics-port=$in_fulcio_metrics --legacy-unix-domain-socket="$run/fulcio-legacy.sock"

# --- Trillian on MariaDB, then Rekor v1 -----------------------------------
for _ in $(seq 300); do
	mariadb-admin --no-defaults --socket="$sock" -uroot ping >/dev/null 2>&1 && break
	alive mysqld || fail mysqld "mariadbd exited"
	sleep 0.1
done
mariadb-admin --no-defaults --socket="$sock" -uroot ping >/dev/null 2>&1 || fail mysqld "no answer on $sock within 30s"
if [ ! -f "$db/.sigil-initialized" ]; then
	{
		echo "CREATE DATABASE trillian; CREATE USER 'trillian'@'localhost' IDENTIFIED BY 'trillian';"
		echo "GRANT ALL ON trillian.* TO 'trillian'@'localhost'; USE trillian;"
		cat "$schema"
	} | mariadb --no-defaults --socket="$sock" -uroot || fail mysqld "loading Trillian's schema $schema failed"
	touch "$db/.sigil-initialized"
fi
dsn="trillian:trillian@unix($sock)/trillian"
start trillian-server nsenter --net="$(netns ns-log)" -- "$tlserver" --storage_system=mysql --quota_system=noop --mysql_uri="$dsn" \
	--rpc_endpoint=127.0.0.1:$in_trillian_rpc --http_endpoint=127.0.0.1:$in_trillian_http --logtostderr
start trillian-signer nsenter --net="$(netns ns-log)" -- "$tlsigner" --storage_system=mysql --quota_system=noop --mysql_uri="$dsn" \
	--rpc_endpoint=127.0.0.1:$in_signer_rpc --http_endpoint=127.0.0.1:$in_signer_http \
	--force_master --sequencer_interval=100ms --logtostderr
err=$(nsenter --net="$(netns ns-log)" -- "$tbctl" wait --name trillian --url "http://127.0.0.1:$in_trillian_http/metrics" --timeout 60s \
	--pid "$(cat "$run/trillian-server.pid")" 2>&1) || fail trillian-server "$err"
# Rekor creates its own Trillian tree at each start; its search index lives
# in MariaDB, so no Redis is needed.
start rekor nsenter --net="$(netns ns-log)" -- "$rekor" serve --rekor_server.address=127.0.0.1 --port=$in_rekor \
	--rekor_server.hostname=127.0.0.1 --rekor_server.signer="$keys/rekor.key" \
	--trillian_log_server.address=127.0.0.1 --trillian_log_server.port=$in_trillian_rpc \
	--search_index.storage_provider=mysql --search_index.mysql.dsn="$dsn" --log_type=prod

# --- the CT log: certificate-transparency-go's front end on Trillian --------
# Its tree is made once and lives in MariaDB with the rest of the state;
# the tree's id is kept in MariaDB's data directory, so a new database gets
# a new tree. createtree returns once the signer has signed the first root.
ctlog_tree=$db/.sigil-ctlog-tree
if [ ! -s "$ctlog_tree" ]; then
	nsenter --net="$(netns ns-log)" -- timeout 90 "$createtree" --admin_server=127.0.0.1:$in_trillian_rpc \
		--display_name=sigil-ctlog --rpc_deadline=60s >"$ctlog_tree.tmp" 2>"$logs/createtree.log" ||
		fail createtree "Trillian's createtree made no tree for the CT log within 90s"
	mv "$ctlog_tree.tmp" "$ctlog_tree"
fi
# The log accepts chains to Fulcio's root only, and reads its roots at
# start. Fulcio's ephemeral CA makes a new root at each start, so the log
# starts once Fulcio serves it; Fulcio calls the log only when it issues.
trust=$dir/trust
mkdir -p "$trust"
ready fulcio "http://127.0.0.1:$fulcio_port/api/v1/rootCert"
"$tbctl" get "http://127.0.0.1:$fulcio_port/api/v1/rootCert" "$trust/fulcio.pem" || fail fulcio "GET /api/v1/rootCert failed"
# The config holds the key's password: readable by root only.
: >"$dir/ctlog.cfg"
chmod 600 "$dir/ctlog.cfg"
cat >"$dir/ctlog.cfg" <<EOF
config {
  log_id: $(cat "$ctlog_tree")
  prefix: "$ctlog_prefix"
  roots_pem_file: "$trust/fulcio.pem"
  private_key: {
    [type.googleapis.com/keyspb.PEMKeyFile] {
      path: "$keys/ctlog.key.enc"
      password: "$(cat "$keys/ctlog.password")"
    }
  }
  ext_key_usages: [ "CodeSigning" ]
}
EOF
start ctlog nsenter --net="$(netns ns-log)" -- "$ctfe" --log_config="$dir/ctlog.cfg" \
	--log_rpc_server=127.0.0.1:$in_trillian_rpc --http_endpoint=127.0.0.1:$in_ctlog --logtostderr

# --- readiness --------------------------------------------------------------
ready tbctl "$issuer/.well-known/openid-configuration"
ready tbctl "http://127.0.0.1:$ghcr/v2/" 401
ready tbctl "http://127.0.0.1:$ghcr_redirect/v2/" 401
ready tbctl "http://127.0.0.1:$dockerhub_auth/token?service=registry.docker.io"
ready tbctl "http://127.0.0.1:$dockerhub/v2/" 401
ready registry "http://127.0.0.1:$dockerhub_noref/v2/" 401
ready rekor2 "http://127.0.0.1:$rekor2_http/healthz"
ready tsa "http://127.0.0.1:$tsa_port/api/v1/timestamp/certchain"
ready fulcio "http://127.0.0.1:$fulcio_port/api/v1/rootCert"
ready fulcio "http://127.0.0.1:$fulcio_metrics/metrics"
ready rekor "http://127.0.0.1:$rekor_port/api/v1/log" 200 90s
# get-sth answers once the log has read its tree's root from Trillian.
ready ctlog "http://127.0.0.1:$ctlog_port/$ctlog_prefix/ct/v1/get-sth"

# --- trust material ---------------------------------------------------------
"$tbctl" get "http://127.0.0.1:$tsa_port/api/v1/timestamp/certchain" "$trust/tsa.pem" || fail tsa "GET /api/v1/timestamp/certchain failed"
"$tbctl" get "http://127.0.0.1:$rekor_port/api/v1/log/publicKey" "$trust/rekor.pub" || fail rekor "GET /api/v1/log/publicKey failed"
cmp -s "$trust/rekor.pub" "$keys/rekor.pub" || fail rekor "serves a public key other than $keys/rekor.pub"
cp "$keys/rekor2.pub" "$trust/rekor2.pub"
cp "$keys/ctlog.pub" "$trust/ctlog.pub"

fulcio_url=http://127.0.0.1:$fulcio_port rekor_url=http://127.0.0.1:$rekor_port
rekor2_url=http://127.0.0.1:$rekor2_http tsa_url=http://127.0.0.1:$tsa_port
ctlog_url=http://127.0.0.1:$ctlog_port/$ctlog_prefix
# The logs' keys are stable, so their validity may start long ago; Fulcio's
# and the TSA's chains are new at each start and carry their own dates.
since=2020-01-01T00:00:00Z
# Written with sigstore-go (tbctl), from the same specs and to the same
# result as cosign v3's `trusted-root create` and `signing-config create`
# (internal/testbed/selftest checks this against cosign).
"$tbctl" trustedroot \
	--fulcio="url=$fulcio_url,certificate-chain=$trust/fulcio.pem" \
	--rekor="url=$rekor_url,public-key=$trust/rekor.pub,start-time=$since" \
	--rekor="url=$rekor2_url,public-key=$trust/rekor2.pub,start-time=$since,origin=127.0.0.1" \
	--tsa="url=$tsa_url/api/v1/timestamp,certificate-chain=$trust/tsa.pem" \
	--ctlog="url=$ctlog_url,public-key=$trust/ctlog.pub,start-time=$since" \
	--out "$trust/trusted_root.json" || die "tbctl trustedroot failed"
"$tbctl" signingconfig \
	--fulcio="url=$fulcio_url,api-version=1,start-time=$since,operator=sigil-testbed" \
	--rekor="url=$rekor_url,api-version=1,start-time=$since,operator=sigil-testbed" \
	--rekor-config=ANY \
	--out "$trust/signing_config.json" || die "tbctl signingconfig (Rekor v1) failed"
"$tbctl" signingconfig \
	--fulcio="url=$fulcio_url,api-version=1,start-time=$since,operator=sigil-testbed" \
	--rekor="url=$rekor2_url,api-version=2,start-time=$since,operator=sigil-testbed" \
	--rekor-config=ANY \
	--tsa="url=$tsa_url/api/v1/timestamp,api-version=1,start-time=$since,operator=sigil-testbed" \
	--tsa-config=ANY \
	--out "$trust/signing_config_v2.json" || die "tbctl signingconfig (Rekor v2) failed"

# --- TUF repository ----------------------------------------------------------
# The trust material as the public instance distributes it, under the public
# target names and in the public shapes (sigstore/root-signing, targets/):
# signing_config.v0.2.json names Fulcio, Rekor v1 and the TSA;
# signing_config_rekor_v2.v0.2.json adds Rekor v2 before Rekor v1. Its keys
# and root (keys/tuf-*) are kept across restarts; /expired and /badsig serve
# broken copies for negative tests.
tufsc=$state/tuf-targets
mkdir -p "$tufsc"
"$tbctl" signingconfig \
	--fulcio="url=$fulcio_url,api-version=1,start-time=$since,operator=sigil-testbed" \
	--oidc-provider="url=$issuer,api-version=1,start-time=$since,operator=sigil-testbed" \
	--rekor="url=$rekor_url,api-version=1,start-time=$since,operator=sigil-testbed" --rekor-config=ANY \
	--tsa="url=$tsa_url/api/v1/timestamp,api-version=1,start-time=$since,operator=sigil-testbed" --tsa-config=ANY \
	--out "$tufsc/signing_config.v0.2.json" || die "tbctl signingconfig (TUF, Rekor v1) failed"
"$tbctl" signingconfig \
	--fulcio="url=$fulcio_url,api-version=1,start-time=$since,operator=sigil-testbed" \
	--oidc-provider="url=$issuer,api-version=1,start-time=$since,operator=sigil-testbed" \
	--rekor="url=$rekor2_url,api-version=2,start-time=$since,operator=sigil-testbed" \
	--rekor="url=$rekor_url,api-version=1,start-time=$since,operator=sigil-testbed" --rekor-config=ANY \
	--tsa="url=$tsa_url/api/v1/timestamp,api-version=1,start-time=$since,operator=sigil-testbed" --tsa-config=ANY \
	--out "$tufsc/signing_config_rekor_v2.v0.2.json" || die "tbctl signingconfig (TUF, Rekor v2) failed"
"$tbctl" tuf --keys "$keys" --out "$dir/tuf" --target "trusted_root.json=$trust/trusted_root.json" \
	--target "signing_config.v0.2.json=$tufsc/signing_config.v0.2.json" \
	--target "signing_config_rekor_v2.v0.2.json=$tufsc/signing_config_rekor_v2.v0.2.json" || die "tbctl tuf failed"
cp "$keys/tuf-root.json" "$trust/tuf-root.json"
tuf_url=http://127.0.0.1:$tuf_port
start tuf "$tbctl" tufserve --listen "127.0.0.1:$tuf_port" --dir "$dir/tuf"
ready tuf "$tuf_url/timestamp.json"
ready tuf "$tuf_url/expired/timestamp.json"

# --- the env file, written last and atomically --------------------------------
# kv KEY VALUE: one shell-sourceable line; values are single-quoted.
kv() {
	case $2 in *"'"* | *$'\n'*) die "the value of $1 contains a quote or newline: $2" ;; esac
	printf "%s='%s'\n" "$1" "$2"
}
{
	echo "# Written by testbed/up.sh at $(date -u +%Y-%m-%dT%H:%M:%SZ); source it, or let tbenv.Load read it."
	kv SIGIL_TB_DIR "$dir"
	kv SIGIL_TB_TOKEN_URL "$issuer/_apis/distributedtask/idtoken?api-version=2.0"
	kv SIGIL_TB_TOKEN "$(cat "$keys/token")"
	kv SIGIL_TB_ISSUER "$issuer"
	kv SIGIL_TB_STATS_URL "$issuer/stats"
	kv SIGIL_TB_FULCIO_URL "$fulcio_url"
	kv SIGIL_TB_FULCIO_METRICS_URL "http://127.0.0.1:$fulcio_metrics/metrics"
	kv SIGIL_TB_FULCIO_ROOT "$trust/fulcio.pem"
	kv SIGIL_TB_REKOR_URL "$rekor_url"
	kv SIGIL_TB_REKOR_PUBKEY "$trust/rekor.pub"
	kv SIGIL_TB_REKOR_V2_URL "$rekor2_url"
	kv SIGIL_TB_REKOR_V2_PUBKEY "$trust/rekor2.pub"
	kv SIGIL_TB_TSA_URL "$tsa_url"
	kv SIGIL_TB_TSA_CHAIN "$trust/tsa.pem"
	kv SIGIL_TB_CTLOG_URL "$ctlog_url"
	kv SIGIL_TB_CTLOG_PUBKEY "$trust/ctlog.pub"
	kv SIGIL_TB_GHCR "127.0.0.1:$ghcr"
	kv SIGIL_TB_GHCR_USER sigil
	kv SIGIL_TB_GHCR_PASSWORD "$(cat "$keys/ghcr.password")"
	kv SIGIL_TB_GHCR_REDIRECT "127.0.0.1:$ghcr_redirect"
	kv SIGIL_TB_GHCR_REDIRECT_USER sigil
	kv SIGIL_TB_GHCR_REDIRECT_PASSWORD "$(cat "$keys/ghcr.password")"
	kv SIGIL_TB_DOCKERHUB "127.0.0.1:$dockerhub"
	kv SIGIL_TB_DOCKERHUB_USER sigil
	kv SIGIL_TB_DOCKERHUB_PASSWORD "$(cat "$keys/dockerhub.password")"
	kv SIGIL_TB_DOCKERHUB_NO_REFERRERS "127.0.0.1:$dockerhub_noref"
	kv SIGIL_TB_DOCKERHUB_NO_REFERRERS_USER sigil
	kv SIGIL_TB_DOCKERHUB_NO_REFERRERS_PASSWORD "$(cat "$keys/dockerhub.password")"
	kv SIGIL_TB_DOCKERHUB_AUTH "$dockerhub_realm"
	kv SIGIL_TB_PUBLIC_NAMESPACE public
	kv SIGIL_TB_TRUSTED_ROOT "$trust/trusted_root.json"
	kv SIGIL_TB_SIGNING_CONFIG "$trust/signing_config.json"
	kv SIGIL_TB_SIGNING_CONFIG_V2 "$trust/signing_config_v2.json"
	kv SIGIL_TB_TUF_URL "$tuf_url"
	kv SIGIL_TB_TUF_ROOT "$trust/tuf-root.json"
	kv SIGIL_TB_TUF_EXPIRED_URL "$tuf_url/expired"
	kv SIGIL_TB_TUF_BADSIG_URL "$tuf_url/badsig"
	kv SIGIL_TB_COSIGN2 "$cosign2"
	kv SIGIL_TB_COSIGN3 "$cosign3"
} >"$dir/env.tmp"
mv "$dir/env.tmp" "$dir/env"
say "up in $((SECONDS - started))s: source $dir/env"
