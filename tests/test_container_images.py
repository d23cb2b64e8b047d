"""Every connector's OCI image runs spec, check, discover and a read of every stream against the sandbox, in a
container, and gives the same messages as the connector run from the repository's .venv.

Slow (builds the images): opt-in with ``pytest tests/test_container_images.py -m container``. Needs Docker, or podman
with the local base image (``bash tests/containers/setup_host.sh``); the build is offline (see
``tests/containers/images.py``). Configs and catalogs are mounted read-only as ``/secrets/*.json``, as Airbyte does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from tests.containers.images import ConnectorImage, Engine, EngineMissing, build
from tests.harness import Connector, ConnectorRunner, Run, _parse, configured_catalog, connectors
from tests.sandbox import Sandbox

pytestmark = pytest.mark.container

REPO = Path(__file__).resolve().parent.parent
CONNECTORS = [c for c in connectors() if (c.folder / "Dockerfile").exists()]


@pytest.fixture(scope="module")
def engine() -> Engine:
    try:
        return Engine.detect()
    except EngineMissing:
        setup = REPO / "tests" / "containers" / "setup_host.sh"
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.skip("no container engine, and podman cannot be installed here (needs root and apt-get)")
        subprocess.run(["bash", str(setup)], check=True)
        return Engine.detect()


@pytest.fixture(scope="module")
def images(engine: Engine) -> Dict[str, ConnectorImage]:
    """Build every connector's image once for the module (layers are cached between runs)."""
    if not CONNECTORS:
        pytest.skip("no connector folder has both integration_tests/sandbox_config.json and a Dockerfile")
    return {image.name: image for image in build([c.name for c in CONNECTORS])}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as running:
        yield running


class ContainerRunner:
    """Like ``tests.harness.ConnectorRunner``, but runs the image, with files mounted as Airbyte mounts them."""

    def __init__(self, engine: Engine, image: str, config: Dict[str, Any]) -> None:
        self.engine = engine
        self.image = image
        self.config = config
        # The image runs as uid 1000 (`airbyte`): the mounted folder must be readable by it.
        self.workdir = Path(tempfile.mkdtemp(prefix="container-run-"))
        self.workdir.chmod(0o755)

    def _write(self, name: str, value: Any) -> str:
        path = self.workdir / name
        path.write_text(json.dumps(value))
        path.chmod(0o644)
        return f"/secrets/{name}"

    def run(self, *args: str, catalog: Optional[Dict[str, Any]] = None, state: Optional[List[Any]] = None) -> Run:
        argv = list(args)
        if args[0] != "spec":
            argv += ["--config", self._write("config.json", self.config)]
        if catalog is not None:
            argv += ["--catalog", self._write("catalog.json", catalog)]
        if state is not None:
            argv += ["--state", self._write("state.json", state)]
        command = self.engine.run_argv(self.image, argv, {str(self.workdir): "/secrets"})
        process = subprocess.run(command, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        return Run(list(_parse(process.stdout)), process.returncode, process.stderr)


def _records(run: Run) -> List[str]:
    """Records without their emission time, in a stable order, for comparing two runs."""
    return sorted(json.dumps({"stream": r["stream"], "data": r["data"]}, sort_keys=True) for r in run.records)


@pytest.mark.parametrize("connector", CONNECTORS, ids=[c.name for c in CONNECTORS])
def test_given_image_when_spec_check_discover_read_in_container_then_same_as_local_run(
    connector: Connector, images: Dict[str, ConnectorImage], engine: Engine, sandbox: Sandbox
) -> None:
    image = images[connector.name]
    config = connector.sandbox_config(sandbox.url)
    container = ContainerRunner(engine, image.tag, config)
    local = ConnectorRunner(connector, config)

    spec = container.run("spec")
    assert spec.returncode == 0, spec.stderr[-2000:]
    assert spec.of_type("SPEC")[0]["spec"] == local.run("spec").of_type("SPEC")[0]["spec"]

    check = container.run("check")
    assert [m["connectionStatus"]["status"] for m in check.of_type("CONNECTION_STATUS")] == ["SUCCEEDED"], (
        check.errors or check.stderr[-2000:]
    )

    discover = container.run("discover")
    assert discover.returncode == 0, discover.errors or discover.stderr[-2000:]
    catalog = discover.of_type("CATALOG")[0]["catalog"]
    assert catalog == local.discover_catalog()

    # Every stream, incremental where the stream supports it, so that the state messages are compared too.
    configured = configured_catalog(catalog, incremental=True)
    in_container = container.run("read", catalog=configured)
    on_host = local.run("read", catalog=configured)
    assert in_container.returncode == 0 and not in_container.errors, in_container.errors or in_container.stderr[-2000:]
    assert on_host.returncode == 0 and not on_host.errors, on_host.errors
    streams = {s["name"] for s in catalog["streams"]}
    assert set(in_container.records_by_stream()) == streams, "every stream should return records from the sandbox"
    assert in_container.records_by_stream() == on_host.records_by_stream()
    assert _records(in_container) == _records(on_host)
    assert in_container.final_stream_states() == on_host.final_stream_states()

    # The state written in the container resumes a sync in the container as it does on the host.
    resumed = container.run("read", catalog=configured, state=in_container.final_states())
    resumed_on_host = local.run("read", catalog=configured, state=on_host.final_states())
    assert resumed.returncode == 0 and not resumed.errors, resumed.errors or resumed.stderr[-2000:]
    assert _records(resumed) == _records(resumed_on_host)


@pytest.mark.parametrize("connector", CONNECTORS, ids=[c.name for c in CONNECTORS])
def test_given_image_when_inspected_then_airbyte_labels_and_entrypoint_match_metadata(
    connector: Connector, images: Dict[str, ConnectorImage], engine: Engine
) -> None:
    import yaml

    image = images[connector.name]
    metadata = yaml.safe_load((connector.folder / "metadata.yaml").read_text())["data"]
    config = engine.inspect_config(image.tag)
    assert config["Labels"]["io.airbyte.name"] == metadata["dockerRepository"]
    assert config["Labels"]["io.airbyte.version"] == metadata["dockerImageTag"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["AIRBYTE_ENTRYPOINT"].split() == config["Entrypoint"] == ["python", "/airbyte/integration_code/main.py"]
    assert config["User"] == "airbyte", "Airbyte's base image runs connectors as the non-root airbyte user"


def test_given_bad_config_file_when_check_in_container_then_config_error_not_traceback(
    images: Dict[str, ConnectorImage], engine: Engine
) -> None:
    """A config that is not JSON: Airbyte shows the trace message, so it must be one (not a Python traceback)."""
    image = images[CONNECTORS[0].name]
    workdir = Path(tempfile.mkdtemp(prefix="container-bad-"))
    workdir.chmod(0o755)
    (workdir / "config.json").write_text("{not json")
    (workdir / "config.json").chmod(0o644)
    command = engine.run_argv(image.tag, ["check", "--config", "/secrets/config.json"], {str(workdir): "/secrets"})
    process = subprocess.run(command, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    errors = [m["trace"]["error"] for m in _parse(process.stdout) if m.get("type") == "TRACE"]
    assert errors and errors[0]["failure_type"] == "config_error", process.stdout[-2000:] + process.stderr[-2000:]
