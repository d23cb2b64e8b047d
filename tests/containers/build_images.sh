#!/usr/bin/env bash
# Build every connector's image (or the ones named): bash tests/containers/build_images.sh [source-x ...]
# Uses Docker when its engine answers, otherwise podman with the local base image from setup_host.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-.venv/bin/python}"
[ -x "$python" ] || python=python3
exec "$python" -m tests.containers.images build "$@"
