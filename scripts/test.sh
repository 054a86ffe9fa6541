#!/usr/bin/env bash
# Install evoforge and its test dependencies, start a Docker engine if none is reachable, run lint and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ -x scripts/docker-engine.sh ]; then
  # Prints `export DOCKER_HOST=...` for an engine it found or started; builds the sandbox image.
  eval "$(./scripts/docker-engine.sh --print-env)" || echo "warning: no Docker engine; docker tests will be skipped" >&2
fi
# The local (bubblewrap) sandbox runs on the image's rootfs; without an engine this builds only that.
./scripts/build-sandbox-image.sh >/dev/null || echo "warning: no sandbox rootfs; the local sandbox falls back to host folders" >&2
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"
