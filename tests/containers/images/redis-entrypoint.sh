#!/bin/sh
# `redis-server [options]` runs as user redis, reachable from the other containers:
# like the public image, protected mode is off (no password, any interface).
set -eu
case "${1:-}" in -*) set -- redis-server "$@" ;; esac
if [ "${1:-}" = redis-server ]; then
    if [ "$(id -u)" = 0 ]; then
        chown -R redis:redis /data
        exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
    fi
    set -- "$@" --protected-mode no
fi
exec "$@"
