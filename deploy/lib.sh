# Shared helpers for the deploy scripts (sourced, not run).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
export SSM_VAR="${SSM_VAR:-$ROOT/var}"
export SSM_ENV_FILE="${SSM_ENV_FILE:-$ROOT/.env}"
PY="$VENV/bin/python"

step() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" = 0 ] || die "run this as root (it installs Debian packages and starts PostgreSQL as the postgres user)"
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
