# Shared helpers of the two booted hosts (sourced): loads hosts.env, names, and
#   hx h1 CMD...   a command inside host h1, as root in a login-like environment
#   cx CMD...      a command in the client namespace
# plus the lab's wait_until and render (deploy/lab/lib.sh is not sourced: the hosts are
# another lab with their own names).
HOSTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$HOSTS_DIR")/lib.sh"

load_settings_file "$HOSTS_DIR/hosts.env"
HOSTS_STATE=${HOSTS_STATE:-$ROOT/var/hosts}
RUN=$HOSTS_STATE/run
NS_SW=$HOSTS_PREFIX-sw
NS_CL=$HOSTS_PREFIX-cl
PUBLIC_PREFIXLEN=${PUBLIC_SUBNET#*/}
CLUSTER_PREFIXLEN=${CLUSTER_SUBNET#*/}
# Marker outside the checkout: a later run from another checkout finds the leftovers.
HOSTS_MARKER_DIR=/run/$HOSTS_PREFIX-hosts
HOSTS="h1 h2"
T0=${T0:-$(date +%s.%N)}
# systemd-nspawn on a host whose own PID 1 is not systemd
export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0

host_var() { local v="HOST${1#h}_$2"; echo "${!v}"; }
host_name() { host_var "$1" NAME; }
host_ns() { echo "$HOSTS_PREFIX-$1"; }
host_dir() { echo "$HOSTS_STATE/$1"; }
host_id() {
  case $1 in
    h1 | "$HOST1_NAME") echo h1 ;;
    h2 | "$HOST2_NAME") echo h2 ;;
    *) die "unknown host '$1' (h1, h2, $HOST1_NAME, $HOST2_NAME)" ;;
  esac
}

# The image: one root file system per content of the package lists, pyproject.toml and
# the build script (a change to any of them builds a new one).
rootfs_key() {
  cat "$ROOT"/deploy/apt-packages.txt "$ROOT/pyproject.toml" "$HOSTS_DIR/build-rootfs" | sha256sum | cut -c1-12
}
rootfs_dir() { echo "$HOSTS_STATE/rootfs-$(rootfs_key)"; }

# PID (root namespace) of a host's systemd: the process named systemd whose parent is
# systemd-nspawn, in the host's network namespace (it changes with every boot).
host_pid() {
  local pid ppid
  for pid in $(pgrep -x systemd); do
    ppid=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null) || continue
    [ "$(cat "/proc/$ppid/comm" 2>/dev/null)" = systemd-nspawn ] || continue
    [ "$(ip netns identify "$pid" 2>/dev/null)" = "$(host_ns "$1")" ] || continue
    echo "$pid"
    return 0
  done
  return 1
}
host_running() { host_pid "$1" >/dev/null; }

# Each host's own cgroup, in every hierarchy systemd uses. Two containers started from one
# cgroup share systemd-nspawn's payload cgroup: each host's systemd then manages the other's
# units of the same name (a start failing with 219/CGROUP, a shutdown that waits for the
# other host's pacemaker to leave "its" pacemaker.service).
host_cgroups() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    echo "/sys/fs/cgroup/$HOSTS_PREFIX-$1"
    return
  fi
  local c
  for c in systemd unified; do
    [ -d "/sys/fs/cgroup/$c" ] && echo "/sys/fs/cgroup/$c/$HOSTS_PREFIX-$1"
  done
}

# hx h1 cmd...: run a command inside host h1 (all its namespaces), with root's environment.
hx() {
  local h=$1 pid
  shift
  pid=$(host_pid "$h") || die "host $h is not running"
  nsenter -t "$pid" -a -- env -i -C / PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 HOME=/root TERM=dumb "$@"
}
# hmanage h1 cmd...: a console command of the server on host h1 (manage.py in its checkout).
hmanage() { local h=$1; shift; hx "$h" "$HOST_REPO/.venv/bin/python" "$HOST_REPO/manage.py" "$@"; }
cx() { ip netns exec "$NS_CL" "$@"; }

wait_until() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timeout after ${limit}s: $what" >&2
      return 1
    fi
    sleep 0.2
  done
}
