#!/usr/bin/env bash
# A RabbitMQ cluster of several nodes on this machine, for trying docflow against a cluster:
# each node has its own name, AMQP port and data folder, and the nodes after the first join it.
#
#   scripts/rabbitmq-cluster.sh start    # 3 nodes on ports 5681, 5682, 5683
#   scripts/rabbitmq-cluster.sh status   # the cluster as the first node sees it
#   scripts/rabbitmq-cluster.sh stop     # stops them; their data stays for the next start
#   scripts/rabbitmq-cluster.sh clean    # stops them and removes their data
#
# Then: docflow serve --amqp-url amqp://guest:guest@127.0.0.1:5681/%2F,amqp://guest:guest@127.0.0.1:5682/%2F,...
# (guest may log in from loopback only, which is where these listen).
#
# Settings: DOCFLOW_CLUSTER_NODES (3), DOCFLOW_CLUSTER_BASE_PORT (5681; node i takes base + i - 1
# for AMQP and 20000 more for Erlang distribution), DOCFLOW_CLUSTER_DIR (data/cluster).
# It leaves the broker `make broker` starts (port 5672) alone.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
nodes=${DOCFLOW_CLUSTER_NODES:-3}
base_port=${DOCFLOW_CLUSTER_BASE_PORT:-5681}
dir=${DOCFLOW_CLUSTER_DIR:-$repo/data/cluster}
wait_seconds=${DOCFLOW_RABBITMQ_WAIT:-90}
PATH=$PATH:/usr/sbin:/usr/local/sbin
HOME=${HOME:-$(echo ~)}
export HOME

fail() {
    echo "rabbitmq-cluster: $*" >&2
    exit 1
}

node_name() { echo "docflow-cluster-$1@localhost"; }
node_port() { echo $((base_port + $1 - 1)); }

answers() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

ctl() {
    local node=$1
    shift
    rabbitmqctl -q -n "$(node_name "$node")" "$@"
}

start_node() {
    local i=$1 port folder
    port=$(node_port "$i")
    folder=$dir/n$i
    if answers "$port"; then
        echo "rabbitmq-cluster: node $i answers on $port"
        return
    fi
    mkdir -p "$folder/mnesia" "$folder/log"
    : >"$folder/enabled_plugins"
    # Debian's rabbitmq-server started as root runs as the rabbitmq user, which must own the folder.
    if ((EUID == 0)) && id -u rabbitmq >/dev/null 2>&1; then chown -R rabbitmq "$folder"; fi
    echo "rabbitmq-cluster: starting node $i ($(node_name "$i"), port $port, data $folder)"
    env RABBITMQ_NODENAME="$(node_name "$i")" RABBITMQ_NODE_PORT="$port" \
        RABBITMQ_MNESIA_BASE="$folder/mnesia" RABBITMQ_LOG_BASE="$folder/log" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$folder/enabled_plugins" RABBITMQ_PID_FILE="$folder/pid" \
        setsid nohup rabbitmq-server >>"$folder/server.log" 2>&1 </dev/null &
}

wait_for() {
    local i=$1 port deadline
    port=$(node_port "$i")
    deadline=$((SECONDS + wait_seconds))
    until answers "$port"; do
        ((SECONDS < deadline)) || fail "node $i did not answer on $port within $wait_seconds s; see $dir/n$i/server.log"
        sleep 1
    done
}

joined() {
    ctl 1 cluster_status --formatter json 2>/dev/null | grep -q "\"$(node_name "$1")\""
}

case ${1:-} in
    start)
        command -v rabbitmq-server >/dev/null 2>&1 || fail "rabbitmq-server is not installed (run scripts/install-deps.sh)"
        for i in $(seq 1 "$nodes"); do start_node "$i"; done
        for i in $(seq 1 "$nodes"); do wait_for "$i"; done
        for i in $(seq 2 "$nodes"); do
            joined "$i" && continue
            echo "rabbitmq-cluster: node $i joins node 1"
            # rabbitmqctl reports the joining node's passing errors on stdout; they go to its log.
            {
                ctl "$i" stop_app && ctl "$i" reset && ctl "$i" join_cluster "$(node_name 1)" && ctl "$i" start_app
            } >>"$dir/n$i/server.log" 2>&1 || fail "node $i could not join node 1; see $dir/n$i/server.log"
        done
        ctl 1 await_online_nodes "$nodes"
        echo "rabbitmq-cluster: $nodes nodes on ports $(node_port 1) to $(node_port "$nodes")"
        ;;
    status)
        ctl 1 cluster_status
        ;;
    stop | clean)
        # By the Erlang node, not the AMQP port: a node whose app is stopped still runs.
        for i in $(seq 1 "$nodes"); do
            if ctl "$i" ping >/dev/null 2>&1; then
                echo "rabbitmq-cluster: stopping node $i"
                ctl "$i" stop >/dev/null 2>&1 || true
            fi
        done
        if [[ $1 == clean ]]; then rm -rf "$dir"; fi
        ;;
    *)
        echo "usage: $0 start|status|stop|clean" >&2
        exit 64
        ;;
esac
