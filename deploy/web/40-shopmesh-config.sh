#!/bin/sh
# Writes /tmp/shopmesh/config.js (window.SHOPMESH_CONFIG) from WEB_API_BASE at start.
# Unset or empty: {} — the UI then calls the gateway on port 8080 of the page's host.
set -eu
mkdir -p /tmp/shopmesh
base="$(printf '%s' "${WEB_API_BASE:-}" | sed 's:/*$::')"
case "$base" in
    "") config='{}' ;;
    http://*|https://*)
        case "$base" in
            *[\"\\\<\>\ ]*) echo "WEB_API_BASE must be a plain http(s) URL" >&2; exit 1 ;;
        esac
        config="{\"apiBase\": \"$base\"}" ;;
    *) echo "WEB_API_BASE must be an http(s) URL" >&2; exit 1 ;;
esac
printf 'window.SHOPMESH_CONFIG = %s;\n' "$config" > /tmp/shopmesh/config.js
