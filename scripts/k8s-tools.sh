#!/usr/bin/env bash
# Makes sure kubectl (with its built-in kustomize) is on the machine, for tests/deploy:
# installs Debian's kubernetes-client package with apt-get when kubectl is missing.
# Usage: scripts/k8s-tools.sh            (idempotent; prints the kubectl version)
set -euo pipefail

if ! command -v kubectl >/dev/null 2>&1; then
    echo "kubectl is missing: installing Debian's kubernetes-client" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO="sudo"
        else
            echo "k8s-tools: kubectl is missing and this user cannot install packages;" \
                 "install kubectl (Debian: apt-get install kubernetes-client)" >&2
            exit 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! $SUDO apt-get install -y -q --no-install-recommends kubernetes-client >/dev/null 2>&1; then
        $SUDO apt-get update -q >/dev/null
        $SUDO apt-get install -y -q --no-install-recommends kubernetes-client >/dev/null
    fi
fi

kubectl version --client 2>/dev/null | head -n 2 >&2
