#!/usr/bin/env bash
# Build every connector's image (or the ones named): bash tests/containers/build_images.sh [source-x ...]
# Uses Docker when its engine answers, otherwise podman with the local base image from setup_host.sh.
#
# The images are pinned to the packages of the repository's .venv (never to another Python's): when .venv is missing
# or lacks shared or a connector, as in a fresh clone, tests/setup_venv.sh makes it first, with python3.11 (the
# images' Python) when there is one. PYTHON=... picks that interpreter, as it does for setup_venv.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m tests.containers.images venv-ready "$@" 2>/dev/null; then
  if [ -z "${PYTHON:-}" ] && [ ! -x .venv/bin/python ] && command -v python3.11 >/dev/null 2>&1; then
    export PYTHON=python3.11
  fi
  echo "build_images: .venv is missing or incomplete: bash tests/setup_venv.sh" >&2
  bash tests/setup_venv.sh >&2
fi
exec .venv/bin/python -m tests.containers.images build "$@"
