#!/usr/bin/env bash
# Create .venv at the repository root (Python 3.10-3.13) and install the shared package, every connector and the
# test tools into it. Safe to re-run: pip skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi

packages=(-e "./shared[test]")
for connector in source-*/; do
  [ -f "${connector}pyproject.toml" ] && packages+=(-e "./${connector%/}")
done
log=$(mktemp)
echo "setup_venv: installing shared and $(( ${#packages[@]} / 2 - 1 )) connectors into .venv (pip log: $log)"
if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check "${packages[@]}" >"$log" 2>&1; then
  cat "$log"
  exit 1
fi
.venv/bin/python -m pip check >/dev/null || { .venv/bin/python -m pip check; exit 1; }
