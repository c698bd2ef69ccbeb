#!/usr/bin/env bash
# A Redis Cluster on loopback for sprig's scale-out tests (issue 23): 3 masters with
# 2 replicas each, AOF with fsync on every write, and masters that refuse writes
# unless a replica is connected (min-replicas-to-write 1).
#
#   scripts/redis-cluster.sh start [DIR]   # prints the seed list once every link is up
#   scripts/redis-cluster.sh stop [DIR]
#   scripts/redis-cluster.sh status [DIR]
#   scripts/redis-cluster.sh master-of KEY [DIR]   # the port of the master serving KEY
#   scripts/redis-cluster.sh kill PORT [DIR]       # SIGKILL one node (failover drills)
#   scripts/redis-cluster.sh settle [DIR]          # wait until every replica has caught up
#
# REDIS_CLUSTER_PORT (default 7100) is the first of the nine consecutive ports.
# Needs redis-server and redis-cli 7 (Debian: apt-get install redis-server).
set -euo pipefail

cmd=${1:-}
arg=""
case "$cmd" in master-of | kill) arg=${2:-}; shift || true ;; esac
dir=${2:-${TMPDIR:-/tmp}/sprig-redis-cluster}
base=${REDIS_CLUSTER_PORT:-7100}
masters=3
replicas=2
nodes=$((masters * (1 + replicas)))
ports=()
for ((i = 0; i < nodes; i++)); do ports+=($((base + i))); done

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

seeds() {
  local IFS=,
  local list=()
  for p in "${ports[@]}"; do list+=("127.0.0.1:$p"); done
  echo "${list[*]}"
}

start_node() {
  local port=$1 home="$dir/$1"
  mkdir -p "$home"
  cat > "$home/redis.conf" <<CONF
port $port
bind 127.0.0.1
protected-mode no
daemonize yes
dir $home
pidfile $home/redis.pid
logfile $home/redis.log
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 2000
appendonly yes
appendfsync always
save ""
min-replicas-to-write 1
min-replicas-max-lag 10
CONF
  redis-server "$home/redis.conf"
}

# Every node answers, the cluster is ok everywhere, and every master has all of its
# replicas online.
ready() {
  local p info
  for p in "${ports[@]}"; do
    info=$(cli "$p" cluster info 2>/dev/null) || return 1
    grep -q '^cluster_state:ok' <<<"$info" || return 1
  done
  for p in "${ports[@]}"; do
    info=$(cli "$p" info replication 2>/dev/null) || return 1
    if grep -q '^role:master' <<<"$info"; then
      [ "$(grep -c 'state=online' <<<"$info")" -eq "$replicas" ] || return 1
    fi
  done
}

case "$cmd" in
  start)
    command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 2; }
    if ready 2>/dev/null; then seeds; exit 0; fi
    mkdir -p "$dir"
    for p in "${ports[@]}"; do start_node "$p"; done
    for p in "${ports[@]}"; do
      for _ in $(seq 1 100); do cli "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
    done
    hosts=()
    for p in "${ports[@]}"; do hosts+=("127.0.0.1:$p"); done
    redis-cli --cluster create "${hosts[@]}" --cluster-replicas "$replicas" --cluster-yes >"$dir/create.log" 2>&1 \
      || { cat "$dir/create.log" >&2; exit 1; }
    for _ in $(seq 1 300); do
      if ready; then seeds; exit 0; fi
      sleep 0.2
    done
    echo "the cluster did not come up within 60 s; logs in $dir" >&2
    exit 1
    ;;
  stop)
    for p in "${ports[@]}"; do cli "$p" shutdown nosave >/dev/null 2>&1 || true; done
    rm -rf "$dir"
    ;;
  status)
    if ready; then echo "ready: $(seeds)"; else echo "not ready"; exit 1; fi
    ;;
  master-of)
    [ -n "$arg" ] || { echo "master-of needs a key" >&2; exit 2; }
    for p in "${ports[@]}"; do
      slot=$(cli "$p" cluster keyslot "$arg" 2>/dev/null) || continue
      # "id host:port@bus flags master ping pong epoch state slot-range..."
      cli "$p" cluster nodes | awk -v slot="$slot" '
        $3 ~ /master/ && $3 !~ /fail/ {
          for (i = 9; i <= NF; i++) {
            n = split($i, r, "-"); lo = r[1]; hi = (n > 1) ? r[2] : r[1]
            if (slot + 0 >= lo + 0 && slot + 0 <= hi + 0) { split($2, a, "[:@]"); print a[2]; exit }
          }
        }'
      exit 0
    done
    echo "no node answers" >&2
    exit 1
    ;;
  settle)
    # Every live master's replicas at its replication offset (after a large load the
    # replicas and their AOF lag behind, and take the machine's cores meanwhile).
    for _ in $(seq 1 600); do
      behind=0
      for p in "${ports[@]}"; do
        info=$(cli "$p" info replication 2>/dev/null) || continue
        grep -q '^role:master' <<<"$info" || continue
        offset=$(awk -F: '/^master_repl_offset/ { print $2 }' <<<"$info" | tr -d '\r')
        while read -r replica; do
          [ "$replica" = "$offset" ] || behind=1
        done < <(grep -o 'offset=[0-9]*' <<<"$info" | cut -d= -f2)
      done
      [ "$behind" = 0 ] && exit 0
      sleep 0.1
    done
    echo "the replicas did not catch up within 60 s" >&2
    exit 1
    ;;
  kill)
    [ -f "$dir/$arg/redis.pid" ] || { echo "no node on port '$arg' in $dir" >&2; exit 2; }
    kill -9 "$(cat "$dir/$arg/redis.pid")"
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
