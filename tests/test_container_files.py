"""Quick checks (no image build) that every connector ships what Airbyte OSS needs to run its image: a Dockerfile in
Airbyte's conventions, a registry ``metadata.yaml`` consistent with the package and manifest, and the README section
on adding it as a custom connector. A connector that lacks them: ``.venv/bin/python -m tests.containers.scaffold``.
"""

from __future__ import annotations

import re
import uuid
from typing import Dict, List

import pytest
import yaml

from tests.containers.images import connector_images
from tests.containers.scaffold import AIRBYTE_BASE_IMAGE, README_START, allowed_hosts, manifest_of

IMAGES = [i for i in connector_images() if (i.folder / i.name.replace("-", "_") / "manifest.yaml").exists()]
IDS = [i.name for i in IMAGES]
REQUIRED = ["connectorType", "connectorSubtype", "definitionId", "dockerRepository", "dockerImageTag", "name",
            "releaseStage", "supportLevel", "allowedHosts", "documentationUrl", "tags"]


def _instructions(dockerfile: str) -> List[str]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("image", IMAGES, ids=IDS)
def test_given_connector_when_dockerfile_read_then_it_follows_airbyte_image_conventions(image) -> None:
    assert (image.folder / "Dockerfile").exists(), f"{image.name} has no Dockerfile: run tests.containers.scaffold"
    lines = _instructions((image.folder / "Dockerfile").read_text())
    assert lines[0] == f"ARG BASE_IMAGE={AIRBYTE_BASE_IMAGE}"
    assert "FROM ${BASE_IMAGE}" in lines
    # shared and the dependencies first (one layer for every connector), then the connector, all from local wheels.
    runs = [line for line in lines if line.startswith("RUN ")]
    assert "COPY shared/ /tmp/shared/" in lines and f"COPY {image.name}/ ./" in lines
    assert lines.index("COPY shared/ /tmp/shared/") < lines.index(runs[0]) < lines.index(f"COPY {image.name}/ ./")
    assert "--find-links /tmp/wheels --constraint /tmp/constraints.txt /tmp/shared" in runs[0]
    assert "--find-links /tmp/wheels --constraint /tmp/constraints.txt ." in runs[1]
    assert all("index=--no-index" in run for run in runs)
    env = next(line for line in lines if line.startswith("ENV AIRBYTE_ENTRYPOINT="))
    entrypoint = env.split("=", 1)[1].strip('"')
    assert next(line for line in lines if line.startswith("ENTRYPOINT ")) == (
        "ENTRYPOINT " + "[" + ", ".join(f'"{part}"' for part in entrypoint.split()) + "]"
    ), "AIRBYTE_ENTRYPOINT and ENTRYPOINT must run the same command"
    assert f"LABEL io.airbyte.name={image.repository}" in lines
    assert f"LABEL io.airbyte.version={image.version}" in lines


@pytest.mark.parametrize("image", IMAGES, ids=IDS)
def test_given_connector_when_metadata_read_then_it_has_the_registry_fields_airbyte_expects(image) -> None:
    assert (image.folder / "metadata.yaml").exists(), f"{image.name} has no metadata.yaml: run tests.containers.scaffold"
    data = yaml.safe_load((image.folder / "metadata.yaml").read_text())["data"]
    assert [field for field in REQUIRED if field not in data] == []
    assert data["connectorType"] == "source" and data["connectorSubtype"] == "api"
    assert str(uuid.UUID(data["definitionId"])) == data["definitionId"]
    assert data["dockerRepository"] == image.repository and data["dockerImageTag"] == image.version
    manifest = manifest_of(image)
    assert data["name"] == manifest["spec"]["connection_specification"]["title"]
    assert data["documentationUrl"] == manifest["spec"]["documentation_url"]
    assert data["allowedHosts"]["hosts"] == allowed_hosts(manifest) != []
    assert data["releaseStage"] in {"alpha", "beta", "generally_available", "custom"}
    assert data["supportLevel"] in {"community", "certified", "archived"}
    assert "language:python" in data["tags"]
    assert data["connectorBuildOptions"]["baseImage"] == AIRBYTE_BASE_IMAGE


def test_given_all_connectors_when_metadata_read_then_definition_ids_are_unique() -> None:
    ids: Dict[str, str] = {}
    for image in IMAGES:
        path = image.folder / "metadata.yaml"
        if path.exists():
            ids[image.name] = yaml.safe_load(path.read_text())["data"]["definitionId"]
    assert len(set(ids.values())) == len(ids), ids


@pytest.mark.parametrize("image", IMAGES, ids=IDS)
def test_given_connector_when_readme_read_then_it_shows_how_to_add_the_image_to_airbyte_oss(image) -> None:
    readme = image.folder / "README.md"
    text = readme.read_text() if readme.exists() else ""
    assert README_START in text, f"{image.name}/README.md lacks the Airbyte OSS section: run tests.containers.scaffold"
    assert f"Docker repository `{image.repository}`" in text and f"Docker image tag `{image.version}`" in text


def test_given_scaffold_when_no_https_url_in_requester_then_no_allowed_host_is_invented() -> None:
    manifest = {"definitions": {"r": {"type": "HttpRequester", "url": "{{ config['base_url'] }}/x"}},
                "spec": {"documentation_url": "https://docs.airbyte.com/x"}}
    assert allowed_hosts(manifest) == []
    manifest["definitions"]["r"]["url"] = "{{ config.get('base_url') or 'https://api.example.com/v1' }}/x"
    assert allowed_hosts(manifest) == ["api.example.com"]
