#!/usr/bin/env bash
# The browser UI (web/: React + TypeScript + Vite): install, build, check, test,
# and the Chromium the end-to-end tests drive. Called by the Makefile.
#
#   scripts/web.sh install   npm ci when node_modules is missing or older than package-lock.json
#   scripts/web.sh build     install, then vite build when a source is newer than web/dist
#   scripts/web.sh check     TypeScript (tsc --noEmit, strict) and ESLint
#   scripts/web.sh unit      Vitest unit tests
#   scripts/web.sh browser   make sure /usr/bin/chromium exists (Debian's package; root installs it)
#
# Needs Node.js >= 20.19 and npm (the npm registry is the only download).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$REPO/web"
STAMP="$WEB/node_modules/.shopmesh-installed"
CHROMIUM="/usr/bin/chromium"
NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19

log() { echo "web.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

require_node() {
    command -v node >/dev/null 2>&1 || die "Node.js >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR is needed (node not found)"
    command -v npm >/dev/null 2>&1 || die "npm is needed (not found)"
    local version major minor
    version="$(node --version)"        # v20.19.0
    version="${version#v}"
    major="${version%%.*}"
    minor="${version#*.}"; minor="${minor%%.*}"
    if (( major < NODE_MIN_MAJOR || (major == NODE_MIN_MAJOR && minor < NODE_MIN_MINOR) )); then
        die "Node.js >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR is needed (found $version)"
    fi
}

cmd_install() {
    require_node
    if [[ -f "$STAMP" && ! "$WEB/package-lock.json" -nt "$STAMP" && ! "$WEB/package.json" -nt "$STAMP" ]]; then
        return 0
    fi
    log "installing the UI's packages (npm ci) ..."
    local t0=$SECONDS
    (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error >&2)
    touch "$STAMP"
    log "installed in $((SECONDS - t0))s"
}

# True when web/dist is missing or older than anything it is built from.
needs_build() {
    local index="$WEB/dist/index.html"
    [[ -f "$index" ]] || return 0
    local newer
    newer="$(cd "$WEB" && find src public tools index.html package-lock.json vite.config.ts tsconfig.json \
        -newer "$index" -print -quit 2>/dev/null)"
    [[ -n "$newer" ]]
}

cmd_build() {
    cmd_install
    if ! needs_build; then
        return 0
    fi
    log "building the UI (vite build) ..."
    local t0=$SECONDS
    (cd "$WEB" && ./node_modules/.bin/vite build --logLevel warn >&2)
    [[ -f "$WEB/dist/index.html" ]] || die "vite build left no web/dist/index.html"
    log "built web/dist in $((SECONDS - t0))s"
}

cmd_check() {
    cmd_install
    (cd "$WEB" && ./node_modules/.bin/tsc --noEmit -p tsconfig.json && ./node_modules/.bin/eslint --max-warnings=0 .)
}

cmd_unit() {
    cmd_install
    (cd "$WEB" && ./node_modules/.bin/vitest run)
}

cmd_browser() {
    [[ -x "$CHROMIUM" ]] && return 0
    [[ $EUID -eq 0 ]] || die "$CHROMIUM is missing and installing it needs root: apt-get install chromium"
    log "installing Debian's chromium for the browser tests (first time only) ..."
    local t0=$SECONDS
    # Wait for another apt (e.g. the PostgreSQL install) instead of failing on its lock.
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >&2
    [[ -x "$CHROMIUM" ]] || die "the chromium package installed no $CHROMIUM"
    log "installed chromium in $((SECONDS - t0))s"
}

case "${1:-}" in
    install) cmd_install ;;
    build) cmd_build ;;
    check) cmd_check ;;
    unit) cmd_unit ;;
    browser) cmd_browser ;;
    *)
        sed -n '2,10p' "$0" >&2
        exit 2
        ;;
esac
