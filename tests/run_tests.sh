#!/usr/bin/env bash
# Set up .venv and run every test suite. Each folder runs in its own pytest process (connectors' unit_tests share
# module names, as in Airbyte's monorepo); the last line sums them up.
#
#   bash tests/run_tests.sh           quick suite: shared, every connector, sandbox integration
#   bash tests/run_tests.sh --full    also builds and runs the OCI images and the PyAirbyte runs (slow)
#
# Two lanes run side by side, because most of the time goes to waiting (connector start-up, backoff, pacing, image
# builds) rather than to both cores: `tests` (the cross-connector suites) in one, `shared` and the five connectors in
# the other. With --full, PyAirbyte's own virtualenv is installed in the background from the start. Each folder's
# output is printed once both lanes are done.
set -uo pipefail
cd "$(dirname "$0")/.."

marker=()
if [ "${1:-}" = "--full" ]; then
  marker=(-m "")
  [ -x tests/containers/setup_host.sh ] && { bash tests/containers/setup_host.sh || exit 1; }
fi

bash tests/setup_venv.sh || exit 1

logs=$(mktemp -d)
if [ "${#marker[@]}" -gt 0 ]; then
  # The PyAirbyte tests call the same script; it waits for this run (a lock) and then finds the venv ready.
  bash tests/containers/setup_pyairbyte.sh > "$logs/setup_pyairbyte.log" 2>&1 &
fi

run_target() {  # run_target NAME: pytest output to $logs/NAME.log, exit code to $logs/NAME.code
  local target=$1 name=${1//\//_}
  .venv/bin/python -m pytest "$target" -q -p no:randomly "${marker[@]}" > "$logs/$name.log" 2>&1
  echo $? > "$logs/$name.code"
  echo "finished ${target} ($(date +%T))"
}

lane_b=(shared)
for connector in source-*/; do
  [ -f "${connector}pyproject.toml" ] && lane_b+=("${connector%/}")
done
( for target in "${lane_b[@]}"; do run_target "$target"; done ) &
lane_b_pid=$!
run_target tests
wait "$lane_b_pid"
wait

passed=0; failed=0; status=0; failures=""
for target in "${lane_b[0]}" tests "${lane_b[@]:1}"; do
  name=${target//\//_}
  log="$logs/$name.log"
  echo "=== pytest ${target}"
  tail -n 25 "$log"
  code=$(cat "$logs/$name.code" 2>/dev/null || echo 1)
  if [ "$code" -ne 0 ] && [ "$code" -ne 5 ]; then status=1; fi  # 5: that folder has no tests yet
  summary=$(grep -E "^[=]* ?[0-9]+ (passed|failed)|^[0-9]+ (passed|failed)" "$log" | tail -n 1)
  p=$(echo "$summary" | grep -oE "[0-9]+ passed" | grep -oE "[0-9]+" || echo 0)
  f=$(echo "$summary" | grep -oE "[0-9]+ failed" | grep -oE "[0-9]+" || echo 0)
  e=$(echo "$summary" | grep -oE "[0-9]+ errors?" | grep -oE "[0-9]+" || echo 0)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
  failures+=$(grep -E "^(FAILED|ERROR) " "$log" | sed "s|^|  ${target}: |" | cut -c1-200; true)$'\n'
done
rm -rf "$logs"
[ -n "${failures//$'\n'/}" ] && { echo "failing tests:"; echo -n "${failures}" | grep -v '^$'; }
echo "total: ${passed} passed, ${failed} failed"
[ "$passed" -gt 0 ] || status=1
exit $status
