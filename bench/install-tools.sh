#!/usr/bin/env bash
# Installs the load tools the benchmark drives (Debian packages), when missing:
# nginx (the reference proxy) and wrk (the HTTP load generator).
set -euo pipefail
missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
((${#missing[@]} == 0)) && exit 0
[[ $EUID -eq 0 ]] || { echo "install-tools.sh: need root to apt-get install ${missing[*]}" >&2; exit 1; }
echo "install-tools.sh: installing ${missing[*]} with apt-get" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# Debian's package may start the system nginx on :80 where an init system runs; that
# server is the system's, not ours: the benchmark starts its own instances.
