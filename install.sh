#!/usr/bin/env bash
# Install everything Salon needs into this folder: a Python venv (.venv) and npm packages.
#   ./install.sh          for building sites
#   ./install.sh --dev    also the test tools (pytest, Playwright; Debian's chromium when missing)
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps -r requirements-nodeps.txt
.venv/bin/python -m pip install -q --no-deps -e .   # the `salon` command (same as run.py)
npm install --no-audit --no-fund --loglevel=error
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  if ! command -v chromium >/dev/null && command -v apt-get >/dev/null; then
    SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo "sudo")
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null \
      || echo "install.sh: could not install chromium; the browser tests will be skipped" >&2
  fi
fi
echo "install.sh: done"
