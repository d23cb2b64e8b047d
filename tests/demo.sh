#!/usr/bin/env bash
# Set up .venv and run every connector end to end against the bundled local sandbox (no credentials, no network):
# spec, check, discover, a full read and an incremental read, then a summary of records and state per stream.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup_venv.sh
exec .venv/bin/python -m tests.demo "$@"
