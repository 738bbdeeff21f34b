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

# make_traversable DIR [USER]: USER (default postgres, which runs PostgreSQL) can reach DIR:
# o+x on each folder above it that USER cannot enter yet.
make_traversable() {
  local dir=$1 user=${2:-postgres}
  while [ "$dir" != / ]; do
    if ! runuser -u "$user" -- test -x "$dir" 2>/dev/null; then
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

# Start the HTTPS server in the background: nginx (TLS 1.2/1.3 with the Browser Certificate
# in TLS_DIR, slow clients, limits; deploy/nginx/ssm.conf.in) in front of granian serving
# ssm.wsgi on a Unix socket, WEB_WORKERS processes (default: one per CPU core) x WEB_THREADS
# threads. PID_FILE is granian's; nginx's is <PID_FILE without .pid>-nginx.pid, its socket,
# configuration and buffers sit beside it. Logs: LOG_FILE (the application server),
# <LOG_FILE without .log>-access.log and -nginx.log.
# Usage: start_web_server BIND TLS_DIR PID_FILE LOG_FILE
start_web_server() {
  local bind=$1 tls=$2 pidfile=$3 logfile=$4
  command -v nginx >/dev/null || die "nginx is not installed: run ./deploy/install"
  rm -f "$pidfile" "${pidfile%.pid}-nginx.pid"
  web_prepare "$bind" "$tls" "$pidfile" "$logfile"
  (exec_app_server "$pidfile" </dev/null >>"$logfile" 2>&1 &)
  wait_app_server "$pidfile" 60 || die "the application server did not start: see $logfile"
  (umask 027 && nginx -p "${pidfile%.pid}-nginx" -c "${pidfile%.pid}-nginx/nginx.conf" -e "${logfile%.log}-nginx.log") \
    || die "nginx did not start: see ${logfile%.log}-nginx.log"
}

# web_prepare BIND TLS_DIR PID_FILE LOG_FILE: the folders of the application server's socket
# and of nginx, and nginx's configuration (<PID_FILE without .pid>-nginx/nginx.conf).
web_prepare() {
  local bind=$1 tls=$2 pidfile=$3 logfile=$4
  local base=${pidfile%.pid} sockdir nginx_dir
  sockdir="$base-sock" nginx_dir="$base-nginx"
  # only root and nginx's workers (www-data) reach the application server's socket: its
  # folder is theirs alone
  mkdir -p "$sockdir" "$nginx_dir"/{body,proxy,fastcgi,uwsgi,scgi}
  chown root:www-data "$sockdir" && chmod 0750 "$sockdir"
  chown -R www-data "$nginx_dir" && chown root "$nginx_dir"
  make_traversable "$(dirname "$sockdir")" www-data
  sed -e "s#@PID@#$base-nginx.pid#" -e "s#@ERROR_LOG@#${logfile%.log}-nginx.log#" \
    -e "s#@ACCESS_LOG@#${logfile%.log}-access.log#" -e "s#@TEMP@#$nginx_dir#g" \
    -e "s#@SOCKET@#$sockdir/app.sock#" -e "s#@LISTEN@#$bind#" -e "s#@TLS@#$tls#g" \
    "$ROOT/deploy/nginx/ssm.conf.in" >"$nginx_dir/nginx.conf"
}

# exec_app_server PID_FILE: become the application server (granian) on the Unix socket
# beside PID_FILE (web_prepare made its folder).
exec_app_server() {
  local pidfile=$1 sock=${1%.pid}-sock/app.sock
  rm -f "$sock"
  cd "$ROOT" && umask 027
  # a session of its own when started in the background; systemd gives its units one
  local launcher=(setsid)
  [ -z "${INVOCATION_ID:-}" ] || launcher=()
  exec "${launcher[@]}" "$VENV/bin/granian" --interface wsgi ssm.wsgi:application \
    --uds "$sock" --uds-permissions 0o666 --http 1 \
    --workers "$(env_value WEB_WORKERS "$(nproc)")" \
    --blocking-threads "$(env_value WEB_THREADS 2)" \
    --workers-kill-timeout 10 --respawn-interval 5 --pid-file "$pidfile"
}

# wait_app_server PID_FILE SECONDS: until the application server answers HTTP (any status).
wait_app_server() {
  local sock=${1%.pid}-sock/app.sock deadline=$((SECONDS + $2))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$sock" \
      http://localhost/login/ 2>/dev/null)" != 000 ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# Stop what start_web_server started (nginx first, then the application server).
# Usage: stop_web_server PID_FILE
stop_web_server() {
  local pidfile=$1
  stop_pidfile "${pidfile%.pid}-nginx.pid" 30 nginx
  stop_pidfile "$pidfile" 30 granian
}

# systemd_host: this machine's PID 1 is systemd (a real host, a VM, a booted container):
# the server's processes are then systemd units (deploy/systemd/). Elsewhere (the lab's
# nodes, CI, a plain container) deploy/services supervises them with pid files.
# SSM_SYSTEMD=0 forces the pid files.
systemd_host() { [ "${SSM_SYSTEMD:-1}" != 0 ] && [ -d /run/systemd/system ]; }

# load_settings_file FILE: KEY=value lines (no quoting, no expansion; # comments) become
# exported variables; a variable already set in the environment wins over the file.
load_settings_file() {
  local line key value
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    [[ $line =~ ^[[:space:]]*([A-Z][A-Z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    value=${value%"${value##*[![:space:]]}"}
    [ -n "${!key+set}" ] || declare -g "$key=$value"
    export "${key?}"
  done <"$1"
}
