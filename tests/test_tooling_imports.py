"""The tooling under tests/ is a package: ``python -m tests.x`` from the repository root, and plain imports in pytest.

No module edits ``sys.path``: pytest.ini puts the repository root on it for every folder's run (``pythonpath``),
and ``python -m`` does from the root.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOLS = ["tests.containers.scaffold", "tests.containers.images", "tests.benchmark"]


@pytest.mark.parametrize("module", TOOLS)
def test_importable_from_pytest(module: str) -> None:
    assert importlib.import_module(module).__file__.startswith(str(REPO))


def test_runnable_as_modules_from_the_repository_root_with_no_pythonpath() -> None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    imported = subprocess.run(
        [sys.executable, "-c", "import " + ", ".join(TOOLS)], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert imported.returncode == 0, imported.stderr
    for module in ("tests.containers.images", "tests.benchmark"):
        shown = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO, env=env, capture_output=True, text=True)
        assert shown.returncode == 0 and "usage:" in shown.stdout, shown.stderr


def test_no_test_or_tool_edits_sys_path() -> None:
    offenders = []
    for path in [*REPO.glob("tests/**/*.py"), *REPO.glob("source-*/*_tests/*.py"), *REPO.glob("shared/tests/*.py")]:
        if path == Path(__file__):
            continue
        if re.search(r"sys\.path\.(insert|append)|sys\.path\s*=", path.read_text()):
            offenders.append(str(path.relative_to(REPO)))
    assert not offenders, offenders
