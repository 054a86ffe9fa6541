#!/usr/bin/env bash
# Install evoforge into ./.venv (idempotent). Uses the CPU build of torch 2.13.0 where no torch is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
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
