"""launch_source, the console entrypoint every connector shares."""

from __future__ import annotations

import gc
import json

import pytest

from connectors_shared.source import GC_YOUNG_THRESHOLD, launch_source
from source_wickedreports import SourceWickedreports


@pytest.fixture
def restore_gc():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_the_garbage_collector_is_tuned_before_the_source_runs(restore_gc, capsys):
    launch_source(SourceWickedreports, ["spec"])
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    assert gc.get_freeze_count() > 0  # what start-up built is no longer rescanned
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["type"] == "SPEC"


def test_an_unreadable_config_file_is_a_config_error_not_a_traceback(restore_gc, capsys, tmp_path):
    with pytest.raises(SystemExit):
        launch_source(SourceWickedreports, ["check", "--config", str(tmp_path / "missing.json")])
    trace = json.loads(capsys.readouterr().out.splitlines()[-1])["trace"]
    assert trace["error"]["failure_type"] == "config_error"
    assert "Could not read the files given on the command line" in trace["error"]["message"]
