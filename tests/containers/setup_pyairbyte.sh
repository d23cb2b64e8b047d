#!/usr/bin/env bash
# Create .venv-pyairbyte (git-ignored) with PyAirbyte, kept apart from .venv because PyAirbyte pins its own versions
# of the CDK's dependencies and brings DuckDB and cloud SDKs (~800 MB). Safe to re-run: skips a working venv.
#   bash tests/containers/setup_pyairbyte.sh
set -euo pipefail
export AIRBYTE_OFFLINE_MODE=true DO_NOT_TRACK=1
cd "$(dirname "$0")/../.."
PYAIRBYTE_VERSION="${PYAIRBYTE_VERSION:-0.71.3}"
venv=.venv-pyairbyte
# One install at a time: tests/run_tests.sh --full starts one in the background while the PyAirbyte tests may call
# this script too; the second waits for the first and then finds the venv ready.
exec 9> "$venv.lock"
flock 9
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import sys; from importlib.metadata import version; sys.exit(version('airbyte') != '$PYAIRBYTE_VERSION')" 2>/dev/null; then
  echo "setup_pyairbyte: $venv has airbyte $PYAIRBYTE_VERSION"
  exit 0
fi
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "airbyte==$PYAIRBYTE_VERSION" 2>&1 \
  | grep -v -e "^WARNING: Location" -e "is ignored: it is neither" || true
"$venv/bin/python" -c "from importlib.metadata import version; print('setup_pyairbyte: airbyte', version('airbyte'), 'in $PWD/$venv')"
