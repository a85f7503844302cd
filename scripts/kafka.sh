#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft: broker + controller in one JVM),
# without Docker: the broker jars come from Maven Central (deploy/kafka/pom.xml)
# and run straight from a classpath. Recipe: shared/KAFKA.md.
#
#   scripts/kafka.sh install
#   scripts/kafka.sh start  <state_dir> <client_port> <controller_port>
#   scripts/kafka.sh start  <state_dir> <client_port> <controller_port> <node_id> <voters> <cluster_id_file>
#   scripts/kafka.sh stop   <state_dir>
#   scripts/kafka.sh status <state_dir>
#
# The six-argument form starts one node of a multi-node cluster (fault tests,
# shared/KAFKA.md): <voters> is controller.quorum.voters
# ("1@127.0.0.1:39193,2@..."), every node is formatted with the cluster id in
# <cluster_id_file> (created by the first node that needs it), and topics get
# replication factor 3 with min.insync.replicas 2. Start the nodes in
# parallel: each one's client port opens once the quorum has formed.
#
# Env: SHOPMESH_KAFKA_CACHE  where the jars go (default <repo>/.cache/kafka-<version>)
#      SHOPMESH_KAFKA_START_TIMEOUT  seconds to wait for the port (default 90)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY="$REPO/deploy/kafka"
POM="$DEPLOY/pom.xml"
# Single source of truth for the version: the pom.
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
CACHE="${SHOPMESH_KAFKA_CACHE:-$REPO/.cache/kafka-$KAFKA_VERSION}"
LIB="$CACHE/lib"
START_TIMEOUT="${SHOPMESH_KAFKA_START_TIMEOUT:-90}"
# The broker's JVM. TieredStopAtLevel=1 compiles with the quick compiler (C1) only: at
# the few hundred requests a second a platform on a small machine makes, the optimizing
# compiler (C2) spent a third of the broker's CPU compiling for minutes after each start,
# taken from the services beside it (bench/README.md, "the broker's compiler"). A broker
# that carries real traffic for long wants C2 back: SHOPMESH_KAFKA_JVM_OPTS replaces the
# whole list.
JVM_OPTS="${SHOPMESH_KAFKA_JVM_OPTS:--Xms256m -Xmx512m -XX:+UseG1GC -XX:TieredStopAtLevel=1}"

log() { echo "kafka.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- helpers

# Canonical absolute path (need not exist yet): the pid check compares it with
# the broker's command line, so every spelling of a dir must give the same one.
abspath() { realpath -m -- "$1"; }

# TCP connect probe; `timeout` guards against a connect that never returns.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# True if $1 is a live (non-zombie) process. Zombies matter here: PID 1 on some
# sandboxes does not reap, and kill -0 succeeds on a zombie.
pid_alive() {
    local pid="$1" state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# The pid recorded for <state_dir>, if that process is alive AND is our broker
# for that state dir (guards against a stale pid file whose pid got reused).
broker_pid() {
    local state="$1" pid
    [[ -f "$state/kafka.pid" ]] || return 1
    pid="$(cat "$state/kafka.pid" 2>/dev/null || true)"
    pid_alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $state/server.properties" || return 1
    echo "$pid"
}

# Stop one pid: SIGTERM (controlled shutdown), up to $2 s, then SIGKILL.
kill_pid() {
    local pid="$1" grace="${2:-30}" i
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 5; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.2
    done
    log "pid $pid still alive after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    log "WARNING: pid $pid did not exit"
}

java_bin() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then echo "$JAVA_HOME/bin/java"; else command -v java || die "java not found"; fi
}

lib_ready() { [[ -d "$LIB" ]] && [[ -n "$(ls -A "$LIB" 2>/dev/null)" ]]; }

# Exactly one SLF4J binding (1.7 StaticLoggerBinder or 2.x service provider):
# two bindings make slf4j pick one at random, none silences the broker.
check_single_slf4j_binding() {
    python3 - "$1" <<'PY'
import sys, zipfile, pathlib
found = []
for jar in sorted(pathlib.Path(sys.argv[1]).glob("*.jar")):
    names = set(zipfile.ZipFile(jar).namelist())
    if ("org/slf4j/impl/StaticLoggerBinder.class" in names
            or "META-INF/services/org.slf4j.spi.SLF4JServiceProvider" in names):
        found.append(jar.name)
if len(found) != 1:
    sys.exit(f"expected exactly one SLF4J binding in {sys.argv[1]}, found: {found}")
PY
}

# ---------------------------------------------------------------- install

cmd_install() {
    [[ -n "$KAFKA_VERSION" ]] || die "cannot read kafka.version from $POM"
    # Fast path, no lock, no JVM: already cached.
    if lib_ready; then return 0; fi

    command -v mvn >/dev/null || die "mvn not found (Maven is needed to fetch Kafka)"
    mkdir -p "$CACHE"
    # Serialize concurrent installs (make up and make test at the same time).
    exec 9>"$CACHE/.install.lock"
    flock 9
    if lib_ready; then exec 9>&-; return 0; fi  # another install finished meanwhile

    local t0=$SECONDS tmp
    # Download into a temp dir inside the cache, then rename: an interrupted
    # download never leaves a lib/ that looks complete.
    tmp="$(mktemp -d "$CACHE/.lib.tmp.XXXXXX")"
    # shellcheck disable=SC2064  # expand $tmp now: it is a local variable
    trap "rm -rf '$tmp'" EXIT
    log "fetching Kafka $KAFKA_VERSION jars with Maven (first time only) ..."
    # sed: Debian's Maven 3.8 prints stray ANSI resets even with -B -q
    # (pipefail keeps mvn's exit status).
    mvn -B -q -f "$POM" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 </dev/null \
        | sed 's/\x1b\[[0-9;]*m//g' >&2 \
        || die "mvn dependency:copy-dependencies failed"
    compgen -G "$tmp/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null || die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn"
    check_single_slf4j_binding "$tmp" || die "bad logging classpath"
    rm -rf "$LIB"   # an empty/partial leftover, if any
    mv -T "$tmp" "$LIB"
    trap - EXIT
    exec 9>&-   # release the lock; a broker started next must not inherit it
    log "installed $(find "$LIB" -name '*.jar' | wc -l) jars into $LIB in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- start

STARTED_PID="" STARTED_STATE=""
abort_start() {
    if [[ -n "$STARTED_PID" ]]; then
        log "start failed, stopping the broker we launched (pid $STARTED_PID)"
        kill_pid "$STARTED_PID" 10
        rm -f "$STARTED_STATE/kafka.pid"
        STARTED_PID=""
    fi
}

write_server_properties() {
    local state="$1" cport="$2" kport="$3" node="${4:-}"
    if [[ -n "$node" ]]; then
        write_cluster_node_properties "$@"
        return
    fi
    # Single node, as in shared/KAFKA.md. The RF-1 internal topics are required:
    # the defaults (RF 3) leave one node without a group coordinator.
    cat >"$state/server.properties" <<EOF
# Generated by scripts/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$kport
listeners=PLAINTEXT://127.0.0.1:$cport,CONTROLLER://127.0.0.1:$kport
advertised.listeners=PLAINTEXT://127.0.0.1:$cport
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$state/data
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Default 3 s delay on the first rebalance of every group slows every test.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.partitions=3
EOF
}

# One node of a multi-node cluster (shared/KAFKA.md, "Three nodes"): replicated
# internal topics, RF 3 / min ISR 2 by default, no unclean elections, and a
# short session timeout so a killed broker is fenced within seconds.
write_cluster_node_properties() {
    local state="$1" cport="$2" kport="$3" node="$4" voters="$5"
    cat >"$state/server.properties" <<EOF
# Generated by scripts/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$cport,CONTROLLER://127.0.0.1:$kport
advertised.listeners=PLAINTEXT://127.0.0.1:$cport
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$state/data
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
unclean.leader.election.enable=false
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.partitions=3
EOF
}

cmd_start() {
    [[ $# -eq 3 || $# -eq 6 ]] \
        || die "usage: kafka.sh start <state_dir> <client_port> <controller_port> [<node_id> <voters> <cluster_id_file>]"
    local state cport="$2" kport="$3" node="${4:-}" voters="${5:-}" cid_file pid t0=$SECONDS
    state="$(abspath "$1")"
    [[ "$cport" =~ ^[0-9]+$ && "$kport" =~ ^[0-9]+$ ]] || die "ports must be numbers"
    cid_file="$state/cluster.id"
    if [[ -n "$node" ]]; then
        [[ "$node" =~ ^[0-9]+$ ]] || die "node id must be a number"
        cid_file="$(abspath "$6")"
    fi

    if pid="$(broker_pid "$state")"; then
        if port_open "$cport"; then
            log "already running (pid $pid) on 127.0.0.1:$cport"
            return 0
        fi
        # Alive but not answering: probably still starting (a concurrent start);
        # wait for it below instead of launching a second broker.
        log "broker pid $pid is alive but 127.0.0.1:$cport not answering yet; waiting"
    else
        # Refuse to start on ports some other process holds: the new broker would
        # die with "Address already in use" and the probe would see the wrong server.
        port_open "$cport" && die "127.0.0.1:$cport is already in use by another process"
        port_open "$kport" && die "127.0.0.1:$kport is already in use by another process"

        cmd_install
        mkdir -p "$state/data" "$state/logs"
        rm -f "$state/kafka.pid"
        write_server_properties "$state" "$cport" "$kport" "$node" "$voters"

        local java tools_log4j="-Dlog4j.configuration=file:$DEPLOY/tools-log4j.properties"
        java="$(java_bin)"
        # One cluster id per state dir (per cluster for a node), kept: a data dir
        # formatted with another id refuses to start. The lock: nodes start in parallel.
        mkdir -p "$(dirname "$cid_file")"
        exec 8>"$cid_file.lock"
        flock 8
        if [[ ! -s "$cid_file" ]]; then
            local cid
            cid="$("$java" -cp "$LIB/*" "$tools_log4j" kafka.tools.StorageTool random-uuid | tail -n1)"
            [[ "$cid" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "unexpected cluster id from StorageTool: '$cid'"
            echo "$cid" >"$cid_file"
        fi
        exec 8>&-   # the broker started below must not inherit the lock
        # Formatting costs a JVM start (~1-2 s): skip it once the dir is formatted.
        if [[ ! -f "$state/data/meta.properties" ]]; then
            "$java" -cp "$LIB/*" "$tools_log4j" kafka.tools.StorageTool format \
                -t "$(cat "$cid_file")" -c "$state/server.properties" --ignore-formatted >&2 \
                || die "StorageTool format failed"
        fi

        # setsid + nohup: the broker outlives this script and is out of the
        # caller's process group (a Ctrl-C in `make` must not kill it). With no
        # job control the child is not a group leader, so setsid/nohup exec in
        # place and $! is the java pid itself.
        # shellcheck disable=SC2086  # JVM_OPTS is a list of options, split on purpose
        setsid nohup "$java" $JVM_OPTS -Djava.awt.headless=true \
            "-Dlog4j.configuration=file:$DEPLOY/log4j.properties" \
            "-Dkafka.logs.dir=$state/logs" \
            -cp "$LIB/*" kafka.Kafka "$state/server.properties" \
            >"$state/logs/stdout.log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$state/kafka.pid"
        # Never leave an orphan broker if we fail, time out or get Ctrl-C while
        # waiting: the EXIT trap stops what we started.
        STARTED_PID="$pid" STARTED_STATE="$state"
        trap abort_start EXIT
        trap 'exit 130' INT TERM
        log "started pid $pid (state $state), waiting for 127.0.0.1:$cport ..."
    fi

    local deadline=$((SECONDS + START_TIMEOUT))
    while ! port_open "$cport"; do
        if ! pid_alive "$pid"; then
            log "broker exited during start-up; last log lines:"
            tail -n 40 "$state/logs/stdout.log" "$state/logs/server.log" >&2 2>/dev/null || true
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            log "timed out after ${START_TIMEOUT}s waiting for 127.0.0.1:$cport; last log lines:"
            tail -n 40 "$state/logs/stdout.log" "$state/logs/server.log" >&2 2>/dev/null || true
            exit 1
        fi
        sleep 0.2
    done
    STARTED_PID=""
    trap - EXIT INT TERM
    log "ready on 127.0.0.1:$cport (pid $pid) after $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- stop / status

cmd_stop() {
    [[ $# -eq 1 ]] || die "usage: kafka.sh stop <state_dir>"
    local state pid
    state="$(abspath "$1")"
    if pid="$(broker_pid "$state")"; then
        log "stopping pid $pid ..."
        kill_pid "$pid" 30
        log "stopped"
    else
        log "not running ($state)"
    fi
    rm -f "$state/kafka.pid"
}

cmd_status() {
    [[ $# -eq 1 ]] || die "usage: kafka.sh status <state_dir>"
    local state pid port
    state="$(abspath "$1")"
    pid="$(broker_pid "$state")" || { log "not running ($state)"; return 1; }
    port="$(sed -n 's|^listeners=PLAINTEXT://127.0.0.1:\([0-9]*\),.*|\1|p' "$state/server.properties")"
    port_open "$port" || { log "pid $pid alive but 127.0.0.1:$port not answering"; return 1; }
    log "running (pid $pid) on 127.0.0.1:$port"
}

case "${1:-}" in
    install) shift; cmd_install "$@" ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    status) shift; cmd_status "$@" ;;
    *) echo "usage: $0 {install | start <state_dir> <client_port> <controller_port> | stop <state_dir> | status <state_dir>}" >&2; exit 2 ;;
esac
