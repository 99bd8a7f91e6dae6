#!/usr/bin/env bash
# Makes sure a RabbitMQ answers at DOCFLOW_AMQP_URL: does nothing if one does, starts a local
# broker in the background if the URL is local, fails with a clear message otherwise.
# Works without systemd or a terminal (containers, CI as root). Enables no plugins, so
# nothing here ever needs a broker restart.
set -euo pipefail

url=${DOCFLOW_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2F}
wait_seconds=${DOCFLOW_RABBITMQ_WAIT:-90}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

fail() { echo "ensure-rabbitmq: $*" >&2; exit 1; }

# amqp://user:pass@host:port/vhost -> host, port ([::1]:5672 for IPv6; rabbitmq-c's defaults when absent).
scheme=${url%%://*}
[[ $scheme == amqp || $scheme == amqps ]] || fail "DOCFLOW_AMQP_URL must start with amqp:// or amqps://, got '$url'"
authority=${url#*://}
authority=${authority%%[/?#]*}
hostport=${authority##*@}
if [[ $hostport == \[* ]]; then
    host=${hostport#\[}; host=${host%%]*}
    port=${hostport#*]}; port=${port#:}
else
    host=${hostport%%:*}
    port=${hostport#"$host"}; port=${port#:}
fi
host=${host:-localhost}
if [[ -z $port ]]; then
    if [[ $scheme == amqps ]]; then port=5671; else port=5672; fi
fi

answers() {
    local probe='exec 3<>"/dev/tcp/$0/$1"'
    if command -v timeout >/dev/null 2>&1; then
        timeout 3 bash -c "$probe" "$host" "$port" 2>/dev/null
    else
        bash -c "$probe" "$host" "$port" 2>/dev/null
    fi
}

if answers; then
    echo "ensure-rabbitmq: RabbitMQ answers on $host:$port"
    exit 0
fi

case $host in
    127.0.0.1 | localhost | ::1) ;;
    *) fail "nothing answers on $host:$port, and it is not this machine: start that broker or point DOCFLOW_AMQP_URL elsewhere" ;;
esac
[[ $scheme == amqp ]] || fail "nothing answers on $host:$port; this script starts only plain-AMQP brokers, not TLS ones"

# Debian keeps rabbitmq-server in /usr/sbin, which is not on ordinary users' PATH.
PATH=$PATH:/usr/sbin:/usr/local/sbin:/opt/homebrew/sbin
command -v rabbitmq-server >/dev/null 2>&1 || fail "nothing answers on $host:$port and rabbitmq-server is not installed (run scripts/install-deps.sh)"

export RABBITMQ_NODE_PORT=${RABBITMQ_NODE_PORT:-$port}
# Two nodes on one machine need two names; a hostname that does not resolve breaks the default one.
if [[ -z ${RABBITMQ_NODENAME:-} ]]; then
    if [[ $port != 5672 ]]; then
        export RABBITMQ_NODENAME=docflow-$port@localhost
    elif ! getent hosts "$(hostname -s)" >/dev/null 2>&1; then
        export RABBITMQ_NODENAME=rabbit@localhost
    fi
fi
# Erlang keeps its cookie in $HOME and refuses to start without one; CI may leave HOME unset.
HOME=${HOME:-$(echo ~)}
export HOME

# setsid + nohup + no terminal on stdin: the broker must outlive this script, make and the CI step.
command=(nohup)
if command -v setsid >/dev/null 2>&1; then command=(setsid nohup); fi
# Debian's rabbitmq-server only runs as root (it drops to the rabbitmq user itself) or as rabbitmq;
# sudo resets the environment, so the RABBITMQ_* settings are passed on explicitly.
if ((EUID != 0)) && id -u rabbitmq >/dev/null 2>&1 && [[ $(id -un) != rabbitmq ]]; then
    { command -v sudo >/dev/null 2>&1 && sudo -v; } || fail "starting the Debian rabbitmq-server needs root: run this as root or with sudo rights"
    mapfile -t settings < <(env | grep '^RABBITMQ_')
    command+=(sudo -n env "${settings[@]}")
fi
command+=(rabbitmq-server)

log=${DOCFLOW_RABBITMQ_LOG:-$repo/data/rabbitmq.log}
if ! { mkdir -p "$(dirname "$log")" && touch "$log"; } 2>/dev/null; then
    log=/tmp/docflow-rabbitmq.log
fi

echo "ensure-rabbitmq: nothing answers on $host:$port; starting RabbitMQ (node ${RABBITMQ_NODENAME:-default}, log $log)"
"${command[@]}" >>"$log" 2>&1 </dev/null &
pid=$!

deadline=$((SECONDS + wait_seconds))
until answers; do
    if ! ps -p "$pid" >/dev/null 2>&1; then
        tail -n 20 "$log" >&2 || true
        fail "rabbitmq-server exited before answering on $host:$port; see $log and RabbitMQ's own log (usually /var/log/rabbitmq)"
    fi
    if ((SECONDS >= deadline)); then
        tail -n 20 "$log" >&2 || true
        fail "RabbitMQ (pid $pid, left running) did not answer on $host:$port within $wait_seconds s; see $log"
    fi
    sleep 1
done
echo "ensure-rabbitmq: RabbitMQ answers on $host:$port"
