#!/usr/bin/env bash
# Install evoforge into ./.venv (idempotent). Uses the CPU build of torch 2.13.0 where no torch is installed.
# As root, also installs bubblewrap (the local sandbox) with apt-get where it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing bubblewrap (the local sandbox) with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null 2>&1 || {
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null; }
  else
    echo "setup: bubblewrap (bwrap) is missing: install it (e.g. sudo apt-get install bubblewrap) for the local sandbox" >&2
  fi
fi
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q "torch==2.13.0"
fi
stamp=.venv/.evoforge-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  # constraints.txt pins the numeric stack the recorded competition scores were checked with
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev,plots]"
  touch "$stamp"
fi
