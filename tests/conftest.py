"""Fixtures the cross-connector suites share."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PYAIRBYTE_PYTHON = REPO / ".venv-pyairbyte" / "bin" / "python"


@pytest.fixture(scope="session")
def pyairbyte_python() -> Path:
    """The Python of ``.venv-pyairbyte``, created by ``tests/containers/setup_pyairbyte.sh`` if missing."""
    setup = subprocess.run(["bash", str(REPO / "tests" / "containers" / "setup_pyairbyte.sh")],
                           capture_output=True, text=True)
    if setup.returncode != 0:
        if shutil.which("python3") is None:
            pytest.skip("PyAirbyte needs python3 with venv to build .venv-pyairbyte")
        pytest.fail(f"could not install PyAirbyte into .venv-pyairbyte:\n{setup.stdout[-3000:]}{setup.stderr[-3000:]}")
    return PYAIRBYTE_PYTHON
