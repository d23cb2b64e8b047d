"""The README's image commands work for a new user: a fresh clone, no ``.venv``, the blocks run as written.

The top-level README's section "Airbyte OSS and PyAirbyte" holds, between ``<!-- readme-images:start`` and
``<!-- readme-images:end -->``, the commands that build every image (``setup_host.sh``, ``build_images.sh``) and then
run ``airbyte/source-wickedreports`` as Airbyte does (spec, check, discover, read, read with state, files mounted
read-only) against the sandbox. The ``container`` test clones the repository, runs those blocks there with bash and
checks what they printed and wrote, so the documented commands are the tested ones. The quick tests check that the
README's commands are the ones ``tests/containers/scaffold.py`` writes into each connector's README, and that the
images are never pinned to any Python but ``.venv``'s.

The clone is of HEAD plus the work tree's uncommitted changes and new files (``git diff HEAD`` applied, untracked
files copied; git-ignored ones such as ``.venv`` and ``.images`` are not), so it tests what the next commit holds; in CI
the work tree is HEAD. The run makes a second ``.venv`` (pip's cache is reused) and, with layers cached from
``tests/test_container_images.py``, takes about two minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import pytest

from tests.containers import images as images_module
from tests.containers.images import Engine, EngineMissing, VenvNotReady, connector_images
from tests.containers.messages import catalog_file, state_file
from tests.containers.scaffold import README_END, README_START, run_commands
from tests.harness import _parse

REPO = Path(__file__).resolve().parent.parent
BLOCKS_START = "<!-- readme-images:start"
BLOCKS_END = "<!-- readme-images:end -->"
CONNECTOR = "source-wickedreports"
DOCUMENTED_PORT = "8765"


def readme_blocks(readme: str) -> List[str]:
    """The ```bash blocks between the readme-images markers, in order."""
    assert BLOCKS_START in readme and BLOCKS_END in readme, "README.md lost its readme-images markers"
    section = readme.split(BLOCKS_START, 1)[1].split(BLOCKS_END, 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def _image(name: str):
    return next(image for image in connector_images([name]))


def test_given_readme_when_image_blocks_read_then_they_build_all_images_and_run_wickedreports_as_scaffold_writes_it():
    blocks = readme_blocks((REPO / "README.md").read_text())
    assert len(blocks) == 2, blocks
    build, run = blocks
    commands = [line.split("#", 1)[0].strip() for line in build.splitlines()]
    assert commands == ["bash tests/containers/setup_host.sh", "bash tests/containers/build_images.sh"], commands
    assert run == run_commands(_image(CONNECTOR)), "README.md's run block drifted from tests/containers/scaffold.py"


@pytest.mark.parametrize("image", connector_images(), ids=lambda image: image.name)
def test_given_connector_readme_when_image_section_read_then_it_has_the_commands_airbyte_runs(image) -> None:
    text = (image.folder / "README.md").read_text()
    section = text.split(README_START, 1)[1].split(README_END, 1)[0]
    assert f"bash tests/containers/build_images.sh {image.name}" in section
    assert run_commands(image) in section, f"run `.venv/bin/python -m tests.containers.scaffold {image.name}`"


def test_given_no_venv_when_building_then_refuses_to_pin_to_another_python(monkeypatch, tmp_path) -> None:
    """Without .venv the build stops before any engine or pip call, naming setup_venv.sh: no other Python is frozen."""
    monkeypatch.setattr(images_module, "MAIN_VENV_PYTHON", tmp_path / ".venv" / "bin" / "python")
    monkeypatch.setattr(images_module.Engine, "detect", classmethod(lambda cls: pytest.fail("engine asked first")))
    calls: List[List[str]] = []
    real_run = subprocess.run
    monkeypatch.setattr(images_module.subprocess, "run", 
                        lambda argv, *a, **k: calls.append(argv) or real_run(argv, *a, **k))
    with pytest.raises(VenvNotReady, match=r"tests/setup_venv\.sh"):
        images_module.build([CONNECTOR])
    with pytest.raises(VenvNotReady, match="no other Python"):
        images_module.download_wheels(connector_images([CONNECTOR]))
    assert calls == [], "nothing may be frozen or downloaded without .venv"


def test_given_venv_missing_a_connector_when_checked_then_named(monkeypatch) -> None:
    """A .venv that lacks a package the images install is not ready either (build_images.sh then runs setup_venv.sh)."""
    if not images_module.MAIN_VENV_PYTHON.exists():
        pytest.skip("no .venv here")
    ghost = images_module.ConnectorImage(REPO / CONNECTOR)
    names = {ghost.folder: "no-such-distribution-x"}
    monkeypatch.setattr(images_module, "distribution_name", lambda path: names.get(path, "airbyte-connectors-shared"))
    problem = images_module.venv_problem([ghost])
    assert problem and "no-such-distribution-x" in problem


def test_given_discover_and_read_output_when_converted_then_files_airbyte_passes_back() -> None:
    stream = {"name": "orders", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"],
              "default_cursor_field": ["date"], "source_defined_primary_key": [["id"]]}
    discover = "\n".join([json.dumps({"type": "LOG", "log": {"level": "INFO", "message": "x"}}),
                          json.dumps({"type": "CATALOG", "catalog": {"streams": [stream]}})])
    configured = catalog_file(discover)
    assert configured["streams"][0]["sync_mode"] == "incremental"
    assert configured["streams"][0]["cursor_field"] == ["date"]
    assert catalog_file(discover, incremental=False)["streams"][0]["sync_mode"] == "full_refresh"

    def state(value: str) -> str:
        return json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
            "stream_descriptor": {"name": "orders"}, "stream_state": {"date": value}}}})

    record = json.dumps({"type": "RECORD", "record": {"stream": "orders", "data": {"id": 1}, "emitted_at": 1}})
    states = state_file("\n".join([record, state("2024-01-01"), record, state("2024-02-01")]))
    assert [s["stream"]["stream_state"] for s in states] == [{"date": "2024-02-01"}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_clone(target: Path) -> None:
    """``git clone`` of HEAD, then the work tree's uncommitted changes and new (not ignored) files on top."""
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)
    diff = subprocess.run(["git", "-C", str(REPO), "diff", "HEAD", "--binary"], capture_output=True, check=True).stdout
    if diff.strip():
        subprocess.run(["git", "-C", str(target), "apply", "--whitespace=nowarn"], input=diff, check=True)
    untracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--others", "--exclude-standard", "-z"], capture_output=True, check=True
    ).stdout.decode().split("\0")
    for name in filter(None, untracked):
        if (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)


def _clean_env() -> Dict[str, str]:
    """The caller's environment as a new user's shell would have it: no virtualenv of this repository active."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHON")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(REPO / ".venv"))
    )
    return env


@pytest.mark.container
def test_given_fresh_clone_without_venv_when_readme_image_blocks_run_then_images_build_and_run_as_airbyte_runs_them():
    if not shutil.which("git") or not (REPO / ".git").exists():
        pytest.skip("not a git work tree: nothing to clone")
    try:
        engine = Engine.detect()
    except EngineMissing:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.skip("no container engine, and the README's setup_host.sh needs root and apt-get to install podman")
        engine = None  # the README's first command installs podman
    with tempfile.TemporaryDirectory(prefix="fresh-clone-") as tmp:
        clone = Path(tmp) / "repo"
        _fresh_clone(clone)
        assert not (clone / ".venv").exists() and not (clone / ".images").exists()
        script = "\n".join(readme_blocks((clone / "README.md").read_text()))
        # The documented port may be taken on this host (a sandbox run by hand): the only change made to the commands.
        assert f"127.0.0.1:{DOCUMENTED_PORT}" in script and f"--port {DOCUMENTED_PORT}" in script
        script = script.replace(DOCUMENTED_PORT, str(_free_port()))
        if engine is not None and not engine.is_podman:
            script = script.replace('engine="podman --runtime runc"', "engine=docker", 1)

        log = Path(tmp) / "stderr.log"
        started = time.monotonic()
        with log.open("w") as stderr:
            process = subprocess.Popen(
                ["bash", "-x", "-euo", "pipefail", "-c", script], cwd=clone, env=_clean_env(), text=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True,
            )
            try:
                stdout, _ = process.communicate(timeout=1800)
            finally:
                try:  # the sandbox the script started, should it have stopped before `kill $sandbox_pid`
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                if process.poll() is None:
                    process.kill()
        elapsed = time.monotonic() - started
        trace = log.read_text()
        assert process.returncode == 0, f"README commands failed after {elapsed:.0f}s:\n{trace[-6000:]}"
        print(f"fresh clone: README's image commands ran in {elapsed:.0f}s")

        # build_images.sh made .venv itself, and pinned the images to it (not to the Python that ran pytest).
        venv_python = clone / ".venv" / "bin" / "python"
        assert venv_python.exists(), "build_images.sh should have made .venv in the fresh clone"
        assert "setup_venv: installing shared" in trace
        frozen = subprocess.run([str(venv_python), "-m", "pip", "freeze", "--exclude-editable"],
                                capture_output=True, text=True, check=True).stdout
        pins = {line for line in (clone / ".images" / "constraints.txt").read_text().splitlines() if line}
        assert pins == {line for line in frozen.splitlines() if "==" in line and "@" not in line}
        assert any(pin.startswith("airbyte-cdk==") for pin in pins)
        for image in connector_images():
            assert f"images: built {image.tag}" in trace, f"{image.tag} was not built"

        # What the image printed: spec, then a check that succeeded against the sandbox.
        messages = list(_parse(stdout))
        assert [m for m in messages if m.get("type") == "SPEC"], stdout[-2000:]
        statuses = [m["connectionStatus"]["status"] for m in messages if m.get("type") == "CONNECTION_STATUS"]
        assert statuses == ["SUCCEEDED"], stdout[-3000:]

        # The files Airbyte hands the next command, and the two reads.
        secrets = clone / ".images" / "secrets"
        configured = json.loads((secrets / "configured_catalog.json").read_text())
        streams = {s["stream"]["name"] for s in configured["streams"]}
        discovered = [m for m in _parse((secrets / "discover.jsonl").read_text()) if m.get("type") == "CATALOG"]
        assert streams == {s["name"] for s in discovered[0]["catalog"]["streams"]} != set()
        first = list(_parse((secrets / "read.jsonl").read_text()))
        assert {m["record"]["stream"] for m in first if m.get("type") == "RECORD"} == streams
        state = json.loads((secrets / "state.json").read_text())
        assert {s["stream"]["stream_descriptor"]["name"] for s in state} == streams
        again = list(_parse((secrets / "read_again.jsonl").read_text()))
        assert not [m for m in first + again if m.get("type") == "TRACE" and m["trace"].get("type") == "ERROR"]
        assert ".images/secrets/read_again.jsonl: " in stdout, "the README's last command prints both reads"
