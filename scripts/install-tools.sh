#!/usr/bin/env bash
# Install the Python-side tools the db-release runbook needs (temporal CLI,
# alembic + psycopg2, just, squawk) into a project-local, git-ignored venv, then check
# that they run and that PostgreSQL is reachable.
#
#   bash scripts/install-tools.sh          # from any directory
#
# Environment:
#   DB_RELEASE_TOOLS_DIR  where to keep the tools (default: <repo>/.tools);
#                         the venv is $DB_RELEASE_TOOLS_DIR/venv
#   DB_RELEASE_PYTHON     interpreter used to create the venv (default: the
#                         first of python3, python3.13, python3.12, python3.11
#                         that is >= 3.11, which SQLAlchemy 2.1 needs)
#   DATABASE_URL          if set, this database server is checked instead of
#                         127.0.0.1:5432
#
# Idempotent: pip only runs when tools/requirements.txt changed (its sha256 is
# stamped in the venv) or the venv is missing or broken. Progress goes to
# stderr; stdout stays empty. Exits 1 naming the problem on failure.
set -euo pipefail

log() { printf 'install-tools: %s\n' "$*" >&2; }
die() { printf 'install-tools: ERROR: %s\n' "$*" >&2; exit 1; }

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
REQUIREMENTS="$ROOT/tools/requirements.txt"
[[ -f "$REQUIREMENTS" ]] || die "missing $REQUIREMENTS"

TOOLS_DIR="${DB_RELEASE_TOOLS_DIR:-$ROOT/.tools}"
[[ -n "$TOOLS_DIR" ]] || die "DB_RELEASE_TOOLS_DIR is set but empty"
mkdir -p -- "$TOOLS_DIR"
TOOLS_DIR="$(cd -- "$TOOLS_DIR" && pwd -P)"
VENV="$TOOLS_DIR/venv"
VENV_PY="$VENV/bin/python"
STAMP="$VENV/.requirements.sha256"

# Serialise concurrent runs (e.g. parallel test jobs) on the same tools dir.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS_DIR/.install.lock"
  flock 9
fi

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum -- "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 -- "$1" | cut -d' ' -f1
  else
    python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
  fi
}

python_ok() { # python_ok <interpreter>: is it >= 3.11?
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

find_python() {
  if [[ -n "${DB_RELEASE_PYTHON:-}" ]]; then
    python_ok "$DB_RELEASE_PYTHON" || die "DB_RELEASE_PYTHON=$DB_RELEASE_PYTHON is not a working Python >= 3.11"
    printf '%s\n' "$DB_RELEASE_PYTHON"
    return
  fi
  local candidate
  for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      printf '%s\n' "$candidate"
      return
    fi
  done
  die "no Python >= 3.11 found (needed by SQLAlchemy 2.1); install python3 >= 3.11 or set DB_RELEASE_PYTHON"
}

# --- 1. venv + pip install, only when needed ---------------------------------
WANT_SHA="$(sha256_of "$REQUIREMENTS")"
HAVE_SHA="$(cat -- "$STAMP" 2>/dev/null || true)"

venv_works() {
  [[ -x "$VENV_PY" ]] && "$VENV_PY" -c 'import sys' >/dev/null 2>&1
}

if venv_works && [[ "$HAVE_SHA" == "$WANT_SHA" ]] \
  && [[ -x "$VENV/bin/temporal" && -x "$VENV/bin/alembic" && -x "$VENV/bin/just" && -x "$VENV/bin/squawk" ]]; then
  log "tools up to date in $VENV (requirements unchanged, skipping pip)"
else
  if ! venv_works; then
    if [[ -e "$VENV" && ! -f "$VENV/pyvenv.cfg" && -n "$(ls -A -- "$VENV" 2>/dev/null)" ]]; then
      die "$VENV exists but is not a Python venv; move it away or set DB_RELEASE_TOOLS_DIR"
    fi
    PY="$(find_python)"
    log "creating venv $VENV with $("$PY" -c 'import sys; print(sys.executable, "%d.%d.%d" % sys.version_info[:3])')"
    "$PY" -m venv --clear "$VENV" >&2 \
      || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
    venv_works || die "the new venv's python ($VENV_PY) does not run"
  fi
  rm -f -- "$STAMP"
  log "installing $(realpath --relative-to="$ROOT" "$REQUIREMENTS" 2>/dev/null || echo "$REQUIREMENTS") into $VENV"
  "$VENV_PY" -m pip install --disable-pip-version-check --no-input -q -r "$REQUIREMENTS" >&2 \
    || die "pip install -r $REQUIREMENTS failed (see pip output above)"
  printf '%s\n' "$WANT_SHA" >"$STAMP.tmp" && mv -f -- "$STAMP.tmp" "$STAMP"
  log "installed; stamped $STAMP"
fi

# Release the lock now: nothing below writes to the tools dir, and a Postgres
# started further down must not inherit (and hold) the lock's descriptor.
exec 9>&-

# --- 2. the tools run ----------------------------------------------------------
check_tool() { # check_tool <name> <args...>
  local name="$1" out
  shift
  [[ -x "$VENV/bin/$name" ]] || die "$VENV/bin/$name is missing (delete $STAMP and re-run to reinstall)"
  out="$("$VENV/bin/$name" "$@" 2>&1)" || die "'$VENV/bin/$name $*' failed: $out"
  log "ok: $(printf '%s' "$out" | head -n1)"
}
check_tool temporal --version
check_tool alembic --version
check_tool just --version
check_tool squawk --version

# --- 3. PostgreSQL is reachable ---------------------------------------------
if [[ -n "${DATABASE_URL:-}" ]]; then
  # libpq understands postgresql:// and postgres://, not SQLAlchemy's +driver.
  PG_TARGET="$(printf '%s' "$DATABASE_URL" | sed -E 's#^(postgres(ql)?)\+[A-Za-z0-9_]+://#\1://#')"
  PG_LABEL="DATABASE_URL ($(printf '%s' "$PG_TARGET" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#'))"
else
  PG_TARGET="postgresql://127.0.0.1:5432/postgres"
  PG_LABEL="127.0.0.1:5432"
fi

pg_reachable() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -t 3 -d "$PG_TARGET" >/dev/null 2>&1
  else
    # A server that answers with an auth or "database does not exist" error is
    # reachable too; only "could not connect"/timeouts count as down.
    "$VENV_PY" - "$PG_TARGET" >/dev/null 2>&1 <<'PY'
import sys
import psycopg2
try:
    psycopg2.connect(sys.argv[1], connect_timeout=3).close()
except psycopg2.OperationalError as e:
    msg = str(e).lower()
    down = ("could not connect" in msg or "connection refused" in msg
            or "timeout" in msg or "no such file" in msg
            or "could not translate host name" in msg)
    sys.exit(1 if down else 0)
PY
  fi
}

target_is_local() {
  [[ -z "${DATABASE_URL:-}" ]] && return 0
  local rest="${PG_TARGET#*://}"
  rest="${rest#*@}"
  case "$rest" in
    /* | 127.0.0.1* | localhost* | "[::1]"* | :*) return 0 ;;
    *) [[ "$PG_TARGET" == *"@/"* || "$PG_TARGET" == *"host=/"* ]] ;;
  esac
}

if pg_reachable; then
  log "ok: PostgreSQL reachable at $PG_LABEL"
else
  VERSIONS=()
  if [[ -d /etc/postgresql ]]; then
    for dir in /etc/postgresql/*/main; do
      [[ -d "$dir" ]] && VERSIONS+=("$(basename -- "$(dirname -- "$dir")")")
    done
  fi
  START_HINT="pg_ctlcluster --skip-systemctl-redirect ${VERSIONS[0]:-<version>} main start"
  log "PostgreSQL is not reachable at $PG_LABEL."
  log "  start it with: $START_HINT   (as root; versions in /etc/postgresql: ${VERSIONS[*]:-none})"
  if [[ "$(id -u)" == 0 ]] && command -v pg_ctlcluster >/dev/null 2>&1 \
    && [[ ${#VERSIONS[@]} -gt 0 ]] && target_is_local; then
    for v in "${VERSIONS[@]}"; do
      log "trying: pg_ctlcluster --skip-systemctl-redirect $v main start"
      pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2 9>&- || log "  (pg_ctlcluster $v main start failed)"
    done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      pg_reachable && break
      sleep 1
    done
  fi
  pg_reachable || die "PostgreSQL is not reachable at $PG_LABEL; start it (e.g. $START_HINT) or set DATABASE_URL to a running server"
  log "ok: PostgreSQL reachable at $PG_LABEL"
fi

log "done: tools in $VENV/bin"
