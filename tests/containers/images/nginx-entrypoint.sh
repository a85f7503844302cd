#!/bin/sh
# Before nginx starts: run every executable /docker-entrypoint.d/*.sh, in order.
set -eu
if [ "${1:-}" = nginx ]; then
    for script in /docker-entrypoint.d/*.sh; do
        [ -x "$script" ] || continue
        [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "docker-entrypoint.sh: running $script"
        "$script"
    done
fi
exec "$@"
