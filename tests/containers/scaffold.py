"""Write each connector's ``Dockerfile``, ``metadata.yaml`` and the README section on running it in Airbyte OSS.

``.venv/bin/python -m tests.containers.scaffold [source-x ...]`` (all connector folders with a ``pyproject.toml`` when
none is named). Everything is derived from files the connector already has, so a new connector needs nothing else:

- the image name and tag from ``pyproject.toml`` (``airbyte/source-<name>:<version>``);
- ``name``, ``documentationUrl`` and ``allowedHosts`` from ``manifest.yaml`` (the spec's title and documentation_url,
  and the hosts of the requesters' default URLs);
- ``definitionId`` is a UUID derived from the connector's name, so it never changes between runs; an id already in
  ``metadata.yaml`` is kept (Airbyte identifies a connector by it once it is registered).

Re-running is safe: files are rewritten from the templates and the README section (between its markers) is replaced,
the rest of the README untouched; a ``## `` section someone else wrote between the markers is kept, moved just above
them. ``tests/test_container_files.py`` checks the result for every connector.
"""

from __future__ import annotations

import re
import sys
import uuid
from typing import Any, Dict, Iterator, List, Sequence

import yaml

from tests.containers.images import ConnectorImage, connector_images

# Airbyte's Python connector base image (Python 3.11, Debian bookworm), pinned by digest as Airbyte's registry does.
AIRBYTE_BASE_IMAGE = (
    "docker.io/airbyte/python-connector-base:4.0.0"
    "@sha256:d9894b6895923b379f3006fa251147806919c62b7d9021b5cd125bb67d7bbe22"
)
DEFINITION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://airbyte.com/connectors/custom")
README_START = "<!-- airbyte-oss-image:start (written by tests/containers/scaffold.py) -->"
README_END = "<!-- airbyte-oss-image:end -->"
# Hosts that appear in manifests but are documentation, not the API.
NOT_API_HOSTS = {"github.com", "docs.airbyte.com", "json-schema.org"}

DOCKERFILE = """\
# syntax=docker/dockerfile:1
# {name} for Airbyte OSS. Build from the repository root, since the image also installs ../shared:
#   bash tests/containers/build_images.sh {name}     (Docker if its engine runs, else podman; offline)
# or by hand, after `python -m tests.containers.images wheels` has filled .images/ on the host:
#   docker build -f {name}/Dockerfile --build-arg PIP_OFFLINE=1 -t {tag} .
# Written by tests/containers/scaffold.py: edit the template there, not this copy.
ARG BASE_IMAGE={base_image}
FROM ${{BASE_IMAGE}}

# 1 = install from .images/wheels only; 0 = PyPI may fill the gaps.
ARG PIP_OFFLINE=0

USER root
WORKDIR /airbyte/integration_code
# shared and every dependency, pinned to the versions the repository's tests ran with. These steps are the same in
# every connector's Dockerfile, so the engine builds this layer once and reuses it for all of them.
COPY .images/constraints.txt /tmp/constraints.txt
COPY shared/ /tmp/shared/
RUN --mount=type=bind,source=.images/wheels,target=/tmp/wheels \\
    if [ "$PIP_OFFLINE" = 1 ]; then index=--no-index; else index=; fi \\
    && python -m pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore $index \\
       --find-links /tmp/wheels --constraint /tmp/constraints.txt /tmp/shared \\
    && rm -rf /tmp/shared

COPY {name}/ ./
RUN --mount=type=bind,source=.images/wheels,target=/tmp/wheels \\
    if [ "$PIP_OFFLINE" = 1 ]; then index=--no-index; else index=; fi \\
    && python -m pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore $index \\
       --find-links /tmp/wheels --constraint /tmp/constraints.txt . \\
    && rm -rf build ./*.egg-info \\
    && {script} spec > /dev/null

USER airbyte
ENV AIRBYTE_ENTRYPOINT="python /airbyte/integration_code/main.py"
ENTRYPOINT ["python", "/airbyte/integration_code/main.py"]

LABEL io.airbyte.name={repository}
LABEL io.airbyte.version={version}
"""

# The commands Airbyte runs against an image (spec; check, discover, read with config, catalog and state mounted as
# files), against the bundled sandbox. The top-level README shows source-wickedreports' copy, and
# tests/test_fresh_clone_image.py runs that copy as written, after the README's build commands, in a fresh clone.
RUN_COMMANDS = """\
engine="podman --runtime runc"    # or engine=docker where build_images.sh found a Docker engine
.venv/bin/python -m tests.sandbox --port 8765 > .images/sandbox.log 2>&1 &    # every vendor's API, on 127.0.0.1
sandbox_pid=$!
timeout 30 sh -c 'until grep -q SANDBOX_URL .images/sandbox.log; do sleep 0.2; done'
mkdir -p -m 755 .images/secrets    # git-ignored; the image runs as uid 1000 (airbyte), which must read the files
sed 's|{{sandbox_url}}|http://127.0.0.1:8765|' {name}/integration_tests/sandbox_config.json \\
  > .images/secrets/config.json
$engine run --rm {tag} spec
$engine run --rm --network host -v "$PWD/.images/secrets:/secrets:ro" {tag} \\
  check --config /secrets/config.json
$engine run --rm --network host -v "$PWD/.images/secrets:/secrets:ro" {tag} \\
  discover --config /secrets/config.json > .images/secrets/discover.jsonl
.venv/bin/python -m tests.containers.messages catalog < .images/secrets/discover.jsonl \\
  > .images/secrets/configured_catalog.json
$engine run --rm --network host -v "$PWD/.images/secrets:/secrets:ro" {tag} \\
  read --config /secrets/config.json --catalog /secrets/configured_catalog.json > .images/secrets/read.jsonl
.venv/bin/python -m tests.containers.messages state < .images/secrets/read.jsonl > .images/secrets/state.json
$engine run --rm --network host -v "$PWD/.images/secrets:/secrets:ro" {tag} \\
  read --config /secrets/config.json --catalog /secrets/configured_catalog.json --state /secrets/state.json \\
  > .images/secrets/read_again.jsonl
.venv/bin/python -m tests.containers.messages summary .images/secrets/read.jsonl .images/secrets/read_again.jsonl
kill $sandbox_pid
"""

README_SECTION = """\
{start}
## Run it in Airbyte OSS (Docker image)

Build the image from the repository root. The build is offline: the wheels are downloaded on the host first, pinned
to the packages of the repository's `.venv` (which `build_images.sh` creates first when it is missing, as in a fresh
clone), and podman with a local base image is used when no Docker engine runs. `setup_host.sh` prepares such a host
(Debian, as root) and skips every step already done:

```bash
bash tests/containers/setup_host.sh
bash tests/containers/build_images.sh {name}      # builds {tag}
```

`{name}/Dockerfile` has `ARG BASE_IMAGE` defaulting to Airbyte's Python connector base image; the script passes
the local stand-in when it builds with podman. The image follows Airbyte's conventions (`AIRBYTE_ENTRYPOINT`,
`io.airbyte.name` / `io.airbyte.version` labels), so it runs like any Airbyte source. These are the commands Airbyte
runs, by hand against the bundled sandbox: `spec`, then `check`, `discover` and `read` with the config, the configured
catalog (made from discover's catalog) and the state (the last state of each stream a read printed) mounted read-only
as files. `--network host` is only there so that the container reaches the sandbox on 127.0.0.1; for the real API,
put your own `config.json` in the mounted folder instead.

```bash
{run_commands}```

To add it to Airbyte OSS as a custom connector: make the image available to Airbyte (push it to a registry Airbyte
can pull from, or for a local abctl install `kind load docker-image {tag} --name airbyte-abctl`),
then in the Airbyte UI open **Settings → Sources → + New connector → Add a new Docker connector** and enter:
name `{title}`, Docker repository `{repository}`, Docker image tag `{version}`, documentation URL
`{documentation_url}`. `metadata.yaml` next to this README carries the registry fields
(definitionId `{definition_id}`, allowedHosts, release stage).

## Run it with PyAirbyte

Install PyAirbyte in its own virtualenv (`bash tests/containers/setup_pyairbyte.sh` makes `.venv-pyairbyte`) and point
it at this connector's command from the repository's `.venv`; offline, PyAirbyte never asks Airbyte's registry:

```python
# AIRBYTE_OFFLINE_MODE=true DO_NOT_TRACK=1 .venv-pyairbyte/bin/python
import airbyte as ab

source = ab.get_source("{name}", config={{...}},  # the config fields above
                       local_executable=".venv/bin/{name}", streams="*")
source.check()
result = source.read(cache=ab.new_local_cache("{cache_name}"))  # DuckDB; a second read resumes from its state
print({{name: len(dataset) for name, dataset in result.streams.items()}})
```

`tests/containers/pyairbyte_load.py` does the same from the command line for several connectors into one DuckDB file.
{end}
"""


def manifest_of(image: ConnectorImage) -> Dict[str, Any]:
    package = image.name.replace("-", "_")
    return yaml.safe_load((image.folder / package / "manifest.yaml").read_text())


def _requester_urls(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "HttpRequester":
            for key in ("url", "url_base"):
                if isinstance(node.get(key), str):
                    yield node[key]
        for value in node.values():
            yield from _requester_urls(value)
    elif isinstance(node, list):
        for value in node:
            yield from _requester_urls(value)


def allowed_hosts(manifest: Dict[str, Any]) -> List[str]:
    """The hosts of the API URLs written in the manifest's requesters (a config base_url override is for tests)."""
    hosts = []
    for url in _requester_urls(manifest):
        for host in re.findall(r"https://([A-Za-z0-9.-]+)", url):
            if host not in NOT_API_HOSTS and host not in hosts:
                hosts.append(host)
    return hosts


def metadata(image: ConnectorImage, manifest: Dict[str, Any], definition_id: str) -> Dict[str, Any]:
    spec = manifest["spec"]
    hosts = allowed_hosts(manifest)
    if not hosts:
        raise SystemExit(f"scaffold: no https:// API URL in {image.name}'s requester url: cannot set allowedHosts")
    return {
        "data": {
            "allowedHosts": {"hosts": hosts},
            "connectorBuildOptions": {"baseImage": AIRBYTE_BASE_IMAGE},
            "connectorSubtype": "api",
            "connectorType": "source",
            "definitionId": definition_id,
            "dockerImageTag": image.version,
            "dockerRepository": image.repository,
            "documentationUrl": spec["documentation_url"],
            "githubIssueLabel": image.name,
            "license": "MIT",
            "name": spec["connection_specification"]["title"],
            "registryOverrides": {"cloud": {"enabled": False}, "oss": {"enabled": True}},
            "releaseStage": "alpha",
            "supportLevel": "community",
            "tags": ["language:python", "cdk:low-code"],
        },
        "metadataSpecVersion": "1.0",
    }


def definition_id(image: ConnectorImage) -> str:
    path = image.folder / "metadata.yaml"
    if path.exists():
        existing = (yaml.safe_load(path.read_text()) or {}).get("data", {}).get("definitionId")
        if existing:
            return existing
    return str(uuid.uuid5(DEFINITION_NAMESPACE, image.name))


def console_script(image: ConnectorImage) -> str:
    import tomllib

    scripts = tomllib.loads((image.folder / "pyproject.toml").read_text())["project"].get("scripts", {})
    return next(iter(scripts)) if scripts else "python /airbyte/integration_code/main.py"


def run_commands(image: ConnectorImage) -> str:
    """The shell commands that run ``image`` as Airbyte does, against the sandbox (README_SECTION shows them)."""
    return RUN_COMMANDS.format(name=image.name, tag=image.tag)


def foreign_sections(old: str, generated: str) -> str:
    """The ``## `` sections of ``old`` (a README's text between the markers) that ``generated`` does not write."""
    ours = {line for line in generated.splitlines() if line.startswith("## ")}
    kept: List[str] = []
    keeping = False
    for line in old.splitlines():
        if line.startswith("## "):
            keeping = line not in ours
        if keeping:
            kept.append(line)
    return "\n".join(kept)


def write(image: ConnectorImage) -> None:
    manifest = manifest_of(image)
    meta = metadata(image, manifest, definition_id(image))
    (image.folder / "Dockerfile").write_text(
        DOCKERFILE.format(
            name=image.name, tag=image.tag, repository=image.repository, version=image.version,
            base_image=AIRBYTE_BASE_IMAGE, script=console_script(image),
        )
    )
    (image.folder / "metadata.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    section = README_SECTION.format(
        start=README_START, end=README_END, name=image.name, tag=image.tag, repository=image.repository,
        version=image.version, title=meta["data"]["name"], documentation_url=meta["data"]["documentationUrl"],
        definition_id=meta["data"]["definitionId"], cache_name=image.name.removeprefix("source-"),
        run_commands=run_commands(image),
    )
    readme = image.folder / "README.md"
    text = readme.read_text() if readme.exists() else f"# {meta['data']['name']} source\n"
    if README_START in text and README_END in text:
        before, rest = text.split(README_START, 1)
        old, after = rest.split(README_END, 1)
        kept = foreign_sections(old, section)
        if kept:
            # Someone wrote their own sections between the markers: keep them, just above the generated part.
            before = before.rstrip("\n") + "\n\n" + kept.strip("\n") + "\n\n"
        text = before + section.rstrip("\n") + after
    else:
        text = text.rstrip("\n") + "\n\n" + section
    readme.write_text(text)
    print(f"scaffold: {image.name}: Dockerfile, metadata.yaml, README section ({image.tag})")


def main(names: Sequence[str]) -> None:
    for image in connector_images(names):
        if not (image.folder / image.name.replace("-", "_") / "manifest.yaml").exists():
            print(f"scaffold: skipping {image.name}: no manifest.yaml yet", file=sys.stderr)
            continue
        try:
            write(image)
        except (yaml.YAMLError, KeyError) as error:
            # A connector being written may have a half-finished manifest: the others still get their files.
            print(f"scaffold: skipping {image.name}: its manifest is not readable yet ({error!r:.200})", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
