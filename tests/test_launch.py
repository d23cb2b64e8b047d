"""launch_source, the console entrypoint every connector shares."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors_shared.source import GC_YOUNG_THRESHOLD, THREAD_SWITCH_INTERVAL, launch_source
from source_wickedreports import SourceWickedreports

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def restore_interpreter():
    thresholds, switch_interval = gc.get_threshold(), sys.getswitchinterval()
    stdout, stderr = sys.stdout, sys.stderr  # launch_source routes both through its secret masking
    yield
    sys.stdout, sys.stderr = stdout, stderr
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    sys.setswitchinterval(switch_interval)


def test_the_interpreter_is_tuned_before_the_source_runs(restore_interpreter, capsys):
    launch_source(SourceWickedreports, ["spec"])
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    assert gc.get_freeze_count() > 0  # what start-up built is no longer rescanned
    assert sys.getswitchinterval() == pytest.approx(THREAD_SWITCH_INTERVAL)
    assert THREAD_SWITCH_INTERVAL > 0.005  # longer than CPython's default, or the setting does nothing
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["type"] == "SPEC"


def test_an_unreadable_config_file_is_a_config_error_not_a_traceback(restore_interpreter, capsys, tmp_path):
    with pytest.raises(SystemExit):
        launch_source(SourceWickedreports, ["check", "--config", str(tmp_path / "missing.json")])
    trace = json.loads(capsys.readouterr().out.splitlines()[-1])["trace"]
    assert trace["error"]["failure_type"] == "config_error"
    assert "Could not read the files given on the command line (--config " in trace["error"]["message"]
    assert "missing.json): [Errno 2] No such file or directory" in trace["error"]["message"]


def _config_file(tmp_path, **overrides) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"api_key": "k" * 20, "start_date": "2024-01-01", **overrides}))
    return str(path)


def _messages(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


class _StreamsRefuseTheConfig(SourceWickedreports):
    """A source whose streams cannot be built from the config: the CDK's check logs that with a traceback."""

    def streams(self, config):
        raise AirbyteTracedException(
            message="campaign_ids: 'x' is not a campaign id.", failure_type=FailureType.config_error
        )


def test_given_a_config_error_while_check_builds_streams_then_no_log_line_carries_a_traceback(tmp_path):
    # A real process: the CDK's log handler (which writes LOG lines) is what pytest replaces in-process.
    process = subprocess.run(
        [sys.executable, "-c", "from connectors_shared.source import launch_source; "
         "from tests.test_launch import _StreamsRefuseTheConfig; launch_source(_StreamsRefuseTheConfig)",
         "check", "--config", _config_file(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.returncode == 0, process.stderr[-2000:]
    assert "Traceback" not in process.stderr
    messages = _messages(process.stdout)
    logs = [m["log"]["message"] for m in messages if m["type"] == "LOG"]
    status = next(m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS")
    assert any("campaign_ids: 'x' is not a campaign id." in log for log in logs), logs
    assert not [log for log in logs if "Traceback" in log or "File \"" in log], logs
    assert status["status"] == "FAILED"
    # The CDK's check wraps the message in repr(): no quotes around it any more, the quotes inside kept.
    assert status["message"].startswith("Encountered an error while discovering streams")
    assert status["message"].endswith("campaign_ids: 'x' is not a campaign id.")


def test_given_a_config_the_spec_refuses_then_each_field_is_named_in_words(restore_interpreter, capsys, tmp_path):
    launch_source(SourceWickedreports, ["check", "--config", _config_file(tmp_path, page_size="lots", start_date="2024/01/01")])
    status = _messages(capsys.readouterr().out)[-1]["connectionStatus"]
    assert status == {
        "status": "FAILED",
        "message": "start_date: '2024/01/01' is not a date like 2024-01-01 (YYYY-MM-DD). "
                   "page_size: 'lots' is not an integer, for example 1000 (the default).",
    }


def test_given_a_config_the_spec_refuses_when_discover_then_a_config_error_without_stack_trace(
    restore_interpreter, capsys, tmp_path
):
    with pytest.raises(SystemExit):
        launch_source(SourceWickedreports, ["discover", "--config", _config_file(tmp_path, page_size="lots")])
    error = _messages(capsys.readouterr().out)[-1]["trace"]["error"]
    assert error["failure_type"] == "config_error" and not error.get("stack_trace")
    assert error["message"] == "page_size: 'lots' is not an integer, for example 1000 (the default)."
    assert "'lots' is not of type 'integer'" in error["internal_message"]  # jsonschema's words, for support


def test_given_an_impossible_date_when_discover_then_a_config_error_not_a_python_error(
    restore_interpreter, capsys, tmp_path
):
    with pytest.raises(SystemExit):
        launch_source(SourceWickedreports, ["discover", "--config", _config_file(tmp_path, start_date="2024-02-30")])
    error = _messages(capsys.readouterr().out)[-1]["trace"]["error"]
    assert error["failure_type"] == "config_error"
    assert error["message"].startswith("start_date '2024-02-30' is not a real date")


def test_given_files_as_pipes_then_each_is_read_once_and_the_command_runs(restore_interpreter, capsys, tmp_path):
    """``source-x check --config <(sed ... config.json)``: the shell hands over a pipe, which can be read only once."""
    read_end, write_end = os.pipe()
    os.write(write_end, json.dumps({"api_key": "k" * 20, "start_date": "2024/01/01"}).encode())
    os.close(write_end)
    try:
        launch_source(SourceWickedreports, ["check", "--config", f"/dev/fd/{read_end}"])
    finally:
        os.close(read_end)
    status = _messages(capsys.readouterr().out)[-1]["connectionStatus"]
    # The config was understood (its start_date is named), not reported as an empty file.
    assert status["message"] == "start_date: '2024/01/01' is not a date like 2024-01-01 (YYYY-MM-DD)."
