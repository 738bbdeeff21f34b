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
