# Shared helpers for the deploy scripts and the HA lab's (deploy/lab/lib.sh sources this
# file; sourced, not run). Paths come from this file's own place, whoever sources it.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
export SSM_VAR="${SSM_VAR:-$ROOT/var}"
export SSM_ENV_FILE="${SSM_ENV_FILE:-$ROOT/.env}"
PY="$VENV/bin/python"

# step: one line per stage; prefixed by the seconds elapsed since T0 (date +%s.%N) when the
# script set T0 (the lab does), by "==>" otherwise.
step() {
  if [ -n "${T0:-}" ]; then
    printf '[%6.1fs] %s\n' "$(elapsed_since "$T0")" "$*"
  else
    printf '==> %s\n' "$*"
  fi
}
note() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# seconds (with fractions) since a date +%s.%N time
elapsed_since() { echo "$(date +%s.%N) - $1" | bc; }

# need_root [MESSAGE]: die unless root.
need_root() {
  [ "$(id -u)" = 0 ] || die "${1:-run this as root (it installs Debian packages and starts PostgreSQL as the postgres user)}"
}

# pidfile_pid FILE [PATTERN]: print the PID a pid file names when that process lives (and,
# with PATTERN, when its command line matches that grep pattern); fail otherwise.
pidfile_pid() {
  local f=$1 pattern=${2:-} pid
  [ -s "$f" ] || return 1
  pid=$(head -n 1 "$f" 2>/dev/null) || return 1
  if [ -n "$pattern" ]; then
    [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pattern" || return 1
  else
    kill -0 "$pid" 2>/dev/null || return 1
  fi
  echo "$pid"
}
pidfile_alive() { pidfile_pid "$@" >/dev/null; }

# stop_pidfile FILE [SECONDS [PATTERN]]: SIGTERM the process the pid file names (when it
# matches PATTERN, see pidfile_pid), SIGKILL it when it still lives after SECONDS (default 5),
# then remove the pid file.
stop_pidfile() {
  local f=$1 limit=${2:-5} pattern=${3:-} pid i
  if pid=$(pidfile_pid "$f" "$pattern"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < limit * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# PostgreSQL runs as the postgres user, which must be able to reach its folders.
make_traversable() {
  local dir=$1
  while [ "$dir" != / ]; do
    if ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
}

manage() { "$PY" "$ROOT/manage.py" "$@"; }

# One setting: the environment first, then the env file (read, not sourced), then a default.
env_value() {
  local name=$1 default=${2:-}
  local line
  if [ -n "${!name:-}" ]; then printf '%s' "${!name}"; return; fi
  line=$(grep -E "^${name}=" "$SSM_ENV_FILE" 2>/dev/null | tail -n 1 || true)
  if [ -n "$line" ]; then printf '%s' "${line#*=}"; else printf '%s' "$default"; fi
}

# The URL an operator opens on this machine.
server_url() {
  local bind
  bind=$(env_value SSM_BIND 0.0.0.0:8443)
  printf 'https://127.0.0.1:%s/' "${bind##*:}"
}

# Start the HTTPS server in the background: granian serving ssm.wsgi over TLS (1.2 or 1.3),
# WEB_WORKERS processes (default: one per CPU core) x WEB_THREADS threads, HTTP/1.1 with
# keep-alive, access log included in the log file. SIGHUP respawns the workers one by one
# (they load the certificate again): an old worker stops 5 s after its replacement started,
# time for the replacement to load the application (~1 s idle, 2-3 s on a busy machine) and
# listen, so the port is never left without a listener. SIGTERM stops, ending a worker after
# 10 s at most.
# Usage: start_web_server BIND TLS_DIR PID_FILE LOG_FILE
start_web_server() {
  local bind=$1 tls=$2 pidfile=$3 logfile=$4 host
  host=${bind%:*}; host=${host#[}; host=${host%]}
  rm -f "$pidfile"
  (cd "$ROOT" && exec setsid "$VENV/bin/granian" --interface wsgi ssm.wsgi:application \
    --host "$host" --port "${bind##*:}" --http 1 \
    --ssl-certificate "$tls/browser.crt" --ssl-keyfile "$tls/browser.key" \
    --ssl-protocol-min tls1.2 \
    --workers "$(env_value WEB_WORKERS "$(nproc)")" \
    --blocking-threads "$(env_value WEB_THREADS 2)" \
    --workers-kill-timeout 10 --respawn-interval 5 --access-log --pid-file "$pidfile" \
    </dev/null >>"$logfile" 2>&1 &)
}
