# Shared helpers of the HA lab (sourced, not executed).
# Sources deploy/lib.sh (step, die, need_root, pidfile_alive, stop_pidfile, elapsed_since...),
# loads lab.env, derives names and paths, and offers: node helpers (node_ns, node_pid, nx),
# client helpers (cx) and wait_until. step lines carry the seconds since T0 (set here when the
# script did not).

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$LAB_DIR")/lib.sh"
REPO=$ROOT

# lab.env: KEY=value lines; the environment wins over the file.
load_settings_file "$LAB_DIR/lab.env"

LAB_STATE=${LAB_STATE:-$REPO/var/lab}
RUN=$LAB_STATE/run
NODES_DIR=$LAB_STATE/nodes
# the power service's socket (fence agent -> host); every node sees the state folder
POWER_SOCKET=$RUN/power.sock
FENCE_PING_TARGET=${FENCE_PING_TARGET:-$CLIENT_IP}
NS_SW=$LAB_PREFIX-sw
NS_CL=$LAB_PREFIX-cl
NS_CSC=$LAB_PREFIX-csc
PG_BIN=/usr/lib/postgresql/$PG_VERSION/bin
PUBLIC_PREFIXLEN=${PUBLIC_SUBNET#*/}
CLUSTER_PREFIXLEN=${CLUSTER_SUBNET#*/}
# Marker outside the checkout, so a later run from another checkout finds leftovers.
LAB_MARKER_DIR=/run/$LAB_PREFIX-lab
VENV_PY=$PY
NODES="n1 n2"
export LAB_STATE RUN REPO POWER_SOCKET FENCE_PING_TARGET

T0=${T0:-$(date +%s.%N)}

# node_var n1 NAME -> value of NODE1_NAME
node_var() { local v="NODE${1#n}_$2"; echo "${!v}"; }
node_name() { node_var "$1" NAME; }
node_ns() { echo "$LAB_PREFIX-$1"; }
node_dir() { echo "$NODES_DIR/$1"; }
other_node() { if [ "$1" = n1 ]; then echo n2; else echo n1; fi; }
# n1|n2|primary-node|secondary-node -> n1|n2
node_id() {
  case $1 in
    n1 | "$NODE1_NAME") echo n1 ;;
    n2 | "$NODE2_NAME") echo n2 ;;
    *) die "unknown node '$1' (n1, n2, $NODE1_NAME, $NODE2_NAME)" ;;
  esac
}

# PID (root pid namespace) of a node's PID 1, verified to live in the node's netns.
node_pid() {
  local f=$RUN/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -d "/proc/$pid" ] || return 1
  [ "$(ip netns identify "$pid" 2>/dev/null)" = "$(node_ns "$1")" ] || return 1
  echo "$pid"
}
node_running() { node_pid "$1" >/dev/null; }

# nx n1 cmd...: run a command inside node n1 (its mount, uts, ipc, net, pid namespaces).
nx() {
  local n=$1 pid
  shift
  pid=$(node_pid "$n") || die "node $n is not running"
  nsenter -t "$pid" -m -u -i -n -p --wd=/ -- "$@"
}
# psql as postgres inside a node, on the local socket.
npsql() {
  local n=$1
  shift
  nx "$n" runuser -u postgres -- "$PG_BIN/psql" -h "$PG_SOCKET_DIR" -p "$PG_PORT" -XAtq "$@"
}
# cx cmd...: run a command in the client namespace (the only place clients dial the lab from).
cx() { ip netns exec "$NS_CL" "$@"; }

# wait_until SECONDS DESCRIPTION cmd...: poll cmd every 0.1 s until it succeeds.
wait_until() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$(echo "$(date +%s.%N) + $limit" | bc)
  until "$@" >/dev/null 2>&1; do
    if [ "$(echo "$(date +%s.%N) > $deadline" | bc)" = 1 ]; then
      echo "timeout after ${limit}s: $what" >&2
      return 1
    fi
    sleep 0.1
  done
}

# render FILE: print a template with every @KEY@ replaced by the value of $KEY.
render() {
  local text key
  text=$(cat "$1")
  while [[ $text =~ @([A-Z][A-Z0-9_]*)@ ]]; do
    key=${BASH_REMATCH[1]}
    [ -n "${!key+set}" ] || die "template $1 uses @$key@ which is not set"
    text=${text//@$key@/${!key}}
  done
  printf '%s\n' "$text"
}

# vip_holder: n1|n2 whose public interface carries the VIP
vip_holder() {
  local n
  for n in $NODES; do
    if ip -n "$(node_ns "$n")" -br addr show dev eth0 2>/dev/null | grep -qw "$VIP/$PUBLIC_PREFIXLEN"; then
      echo "$n"
      return 0
    fi
  done
  return 1
}
