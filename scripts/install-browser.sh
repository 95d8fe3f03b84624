#!/usr/bin/env bash
# The Web UI approval test drives Debian's Chromium through playwright-core, which never downloads
# a browser. Installs it when missing (root, or sudo without a password), so `npm test` passes on a
# fresh machine by itself. CHROMIUM_PATH names another browser binary and skips the install.
set -euo pipefail
log() { printf 'install-browser: %s\n' "$*" >&2; }

if [[ -n "${CHROMIUM_PATH:-}" ]]; then
  [[ -x "$CHROMIUM_PATH" ]] || { log "ERROR: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"; exit 1; }
  exit 0
fi
command -v chromium >/dev/null 2>&1 && exit 0

log "chromium is missing; installing Debian's package for the Web UI test"
if [[ "$(id -u)" == 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  log "ERROR: cannot install chromium without root: run 'sudo apt-get install chromium', or set CHROMIUM_PATH"
  exit 1
fi
# Serialise with other installs (a parallel test run, CI) holding the dpkg lock.
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq -o DPkg::Lock::Timeout=300 chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { log "ERROR: chromium still missing after apt-get install"; exit 1; }
log "ok: $(chromium --version 2>/dev/null || echo chromium)"
