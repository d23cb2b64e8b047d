#!/usr/bin/env bash
# Set up .venv and run every test suite. Each folder runs in its own pytest process (connectors' unit_tests share
# module names, as in Airbyte's monorepo); the last line sums them up.
#
#   bash tests/run_tests.sh           quick suite: shared, every connector, sandbox integration (a few minutes)
#   bash tests/run_tests.sh --full    also builds and runs the OCI images and the PyAirbyte runs (slow)
set -uo pipefail
cd "$(dirname "$0")/.."

marker=()
if [ "${1:-}" = "--full" ]; then
  marker=(-m "")
  [ -x tests/containers/setup_host.sh ] && { bash tests/containers/setup_host.sh || exit 1; }
fi

bash tests/setup_venv.sh || exit 1

passed=0; failed=0; status=0; failures=""
targets=(shared tests)
for connector in source-*/; do
  [ -f "${connector}pyproject.toml" ] && targets+=("${connector%/}")
done
for target in "${targets[@]}"; do
  echo "=== pytest ${target}"
  log=$(mktemp)
  .venv/bin/python -m pytest "$target" -q -p no:randomly "${marker[@]}" 2>&1 | tee "$log" | tail -n 25
  code=${PIPESTATUS[0]}
  if [ "$code" -ne 0 ] && [ "$code" -ne 5 ]; then status=1; fi  # 5: that folder has no tests yet
  summary=$(grep -E "^[=]* ?[0-9]+ (passed|failed)|^[0-9]+ (passed|failed)" "$log" | tail -n 1)
  p=$(echo "$summary" | grep -oE "[0-9]+ passed" | grep -oE "[0-9]+" || echo 0)
  f=$(echo "$summary" | grep -oE "[0-9]+ failed" | grep -oE "[0-9]+" || echo 0)
  e=$(echo "$summary" | grep -oE "[0-9]+ errors?" | grep -oE "[0-9]+" || echo 0)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
  failures+=$(grep -E "^(FAILED|ERROR) " "$log" | sed "s|^|  ${target}: |" | cut -c1-200; true)$'\n'
  rm -f "$log"
done
[ -n "${failures//$'\n'/}" ] && { echo "failing tests:"; echo -n "${failures}" | grep -v '^$'; }
echo "total: ${passed} passed, ${failed} failed"
[ "$passed" -gt 0 ] || status=1
exit $status
