"""launch_source, the console entrypoint every connector shares."""

from __future__ import annotations

import gc
import json
import sys

import pytest

from connectors_shared.source import GC_YOUNG_THRESHOLD, THREAD_SWITCH_INTERVAL, launch_source
from source_wickedreports import SourceWickedreports


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
    assert "Could not read the files given on the command line" in trace["error"]["message"]
