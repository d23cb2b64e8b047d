"""Build and run the connectors' OCI images with Docker when an engine answers, otherwise with Debian's podman.

``python -m tests.containers.images build [source-x ...]`` (or ``bash tests/containers/build_images.sh``) builds
``airbyte/source-<name>:<version>`` for every connector folder that has a ``pyproject.toml`` and a ``Dockerfile``.
Folders still without a ``pyproject.toml`` (a connector being started) are skipped with a note.

Builds never reach Docker Hub or PyPI from inside the image:

- the wheels of every connector's dependencies are ``pip download``-ed on the host into ``.images/wheels`` (git-ignored),
  pinned to the versions of the repository's ``.venv`` so that an image runs exactly the code the tests ran, and the
  Dockerfile installs them with ``--no-index --find-links``. Only ``.venv`` is frozen, never the interpreter running
  this module: a system Python's unrelated packages (an old orjson, say) would pin the image to versions the CDK
  cannot use. Without a ``.venv`` holding ``shared`` and the connectors the build stops with a clear error;
  ``build_images.sh`` runs ``tests/setup_venv.sh`` first when that is the case, so a fresh clone builds on its own;
- with podman, ``BASE_IMAGE`` is the local stand-in for Airbyte's Python connector base image made by
  ``tests/containers/setup_host.sh`` (debootstrap + ``podman import``); with Docker it stays the Dockerfile's default,
  Airbyte's own ``docker.io/airbyte/python-connector-base``. ``BASE_IMAGE=...`` in the environment overrides both.

Podman is always called as ``podman --runtime runc`` (crun is not what Debian's podman finds inside our sandbox).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
WHEELS = REPO / ".images" / "wheels"
CONSTRAINTS = REPO / ".images" / "constraints.txt"  # copied into the images: a change of pins rebuilds their layer
LOCAL_BASE_IMAGE = os.environ.get("LOCAL_BASE_IMAGE", "localhost/airbyte-python-connector-base-local:bookworm")
MAIN_VENV_PYTHON = REPO / ".venv" / "bin" / "python"


@dataclass(frozen=True)
class ConnectorImage:
    """One connector folder and the image it builds: ``airbyte/source-<name>:<pyproject version>``."""

    folder: Path

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def version(self) -> str:
        return tomllib.loads((self.folder / "pyproject.toml").read_text())["project"]["version"]

    @property
    def repository(self) -> str:
        return f"airbyte/{self.name}"

    @property
    def tag(self) -> str:
        return f"{self.repository}:{self.version}"


def connector_images(names: Sequence[str] = ()) -> List[ConnectorImage]:
    """Every ``source-*`` folder with a ``pyproject.toml`` (or just the named ones), in name order."""
    found = []
    for folder in sorted(REPO.glob("source-*")):
        if names and folder.name not in names:
            continue
        if not (folder / "pyproject.toml").exists():
            print(f"images: skipping {folder.name}: no pyproject.toml yet", file=sys.stderr)
            continue
        found.append(ConnectorImage(folder))
    return found


class Engine:
    """The container engine's command line: ``docker`` if its daemon answers, else ``podman --runtime runc``."""

    def __init__(self, command: List[str]) -> None:
        self.command = command

    @property
    def is_podman(self) -> bool:
        return "podman" in Path(self.command[0]).name

    @classmethod
    def detect(cls) -> "Engine":
        forced = os.environ.get("CONTAINER_ENGINE")
        if forced in (None, "", "docker") and shutil.which("docker"):
            if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
                return cls(["docker"])
            if forced == "docker":
                raise EngineMissing("CONTAINER_ENGINE=docker but `docker info` finds no running Docker engine")
        if shutil.which("podman"):
            return cls(["podman", "--runtime", "runc"])
        raise EngineMissing(
            "no container engine: no Docker daemon answers and podman is not installed. "
            "Run `bash tests/containers/setup_host.sh` (Debian, as root) first."
        )

    def base_image(self) -> Optional[str]:
        """The BASE_IMAGE build argument to pass, or None for the Dockerfile's default (Airbyte's own base image)."""
        if os.environ.get("BASE_IMAGE"):
            return os.environ["BASE_IMAGE"]
        if self.is_podman:
            if subprocess.run(self.command + ["image", "exists", LOCAL_BASE_IMAGE]).returncode != 0:
                raise EngineMissing(
                    f"the local base image {LOCAL_BASE_IMAGE} is missing: run `bash tests/containers/setup_host.sh`"
                )
            return LOCAL_BASE_IMAGE
        return None

    def build(self, image: ConnectorImage, base_image: Optional[str]) -> None:
        argv = self.command + [
            "build",
            "--file", str(image.folder / "Dockerfile"),
            "--tag", image.tag,
            "--build-arg", "PIP_OFFLINE=1",
            # Nothing in the build may fetch anything: the wheels and the base image are already here.
            "--network", "none",
        ]
        if base_image:
            argv += ["--build-arg", f"BASE_IMAGE={base_image}"]
        if self.is_podman:
            argv += ["--pull=never"]
        subprocess.run(argv + [str(REPO)], check=True)

    def run_argv(self, image: str, args: Sequence[str], mounts: Optional[Dict[str, str]] = None) -> List[str]:
        """``<engine> run --rm --network host -v host:container:ro ... image args`` (the sandbox is on 127.0.0.1).

        The README's commands (``scaffold.RUN_COMMANDS``) are these, written out.
        """
        argv = self.command + ["run", "--rm", "--network", "host"]
        for host, container in (mounts or {}).items():
            argv += ["-v", f"{host}:{container}:ro"]
        return argv + [image] + list(args)

    def inspect_config(self, image: str) -> Dict[str, object]:
        """The image's config (Labels, Env, Entrypoint, User, ...) as ``<engine> image inspect`` reports it."""
        out = subprocess.run(self.command + ["image", "inspect", image], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)[0].get("Config") or {}


class BuildError(RuntimeError):
    """The images cannot be built as things are: the message says what to run."""


class EngineMissing(BuildError):
    """No usable container engine or base image on this host."""


class VenvNotReady(BuildError):
    """``.venv`` is missing, lacks a package the images install, or runs another Python than the images."""


# Airbyte's python-connector-base:4.x and the local stand-in (Debian bookworm) both run Python 3.11: the wheels
# downloaded on the host must be the ones that interpreter installs.
IMAGE_PYTHON = (3, 11)


def distribution_name(folder: Path) -> str:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]["name"]


def venv_problem(images: Sequence[ConnectorImage]) -> Optional[str]:
    """Why ``.venv`` cannot pin the images (None when it can): missing, wrong Python, or a package not installed."""
    shown = os.path.relpath(MAIN_VENV_PYTHON, REPO)
    if not MAIN_VENV_PYTHON.exists():
        return f"{shown} does not exist"
    wanted = [distribution_name(REPO / "shared")] + [distribution_name(image.folder) for image in images]
    probe = (
        "import json, sys\n"
        "from importlib.metadata import version, PackageNotFoundError\n"
        "def installed(name):\n"
        "    try:\n"
        "        return version(name)\n"
        "    except PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({'python': sys.version_info[:2], 'missing': [n for n in sys.argv[1:] if not installed(n)]}))"
    )
    out = subprocess.run([str(MAIN_VENV_PYTHON), "-c", probe, *wanted], capture_output=True, text=True)
    if out.returncode != 0:
        return f"{shown} does not run: {out.stderr.strip()[-300:]}"
    found = json.loads(out.stdout)
    if tuple(found["python"]) != IMAGE_PYTHON:
        have, want = ".".join(map(str, found["python"])), ".".join(map(str, IMAGE_PYTHON))
        return (
            f".venv runs Python {have} but the images run Python {want}, so its wheels would not install there: "
            f"recreate it with Python {want} (rm -rf .venv && PYTHON=python{want} bash tests/setup_venv.sh)"
        )
    if found["missing"]:
        return ".venv lacks " + ", ".join(found["missing"])
    return None


def pinning_python(images: Sequence[ConnectorImage]) -> Path:
    """``.venv``'s interpreter, the only one whose packages the images may be pinned to; raises VenvNotReady."""
    problem = venv_problem(images)
    if problem:
        raise VenvNotReady(
            f"{problem}. The images are pinned to the packages of the repository's .venv and to no other Python's: "
            "run `bash tests/setup_venv.sh` (bash tests/containers/build_images.sh does it when .venv is missing)"
        )
    return MAIN_VENV_PYTHON


def download_wheels(images: Sequence[ConnectorImage]) -> None:
    """Fill ``.images/wheels`` with every dependency of ``shared`` and the connectors, pinned to ``.venv``'s versions.

    ``.venv`` has the images' Python (3.11; on x86_64 glibc), so plain ``pip download`` picks wheels that install in the
    image; setuptools is added because the Dockerfile builds ``shared`` and the connector from source offline.
    """
    python = str(pinning_python(images))
    WHEELS.mkdir(parents=True, exist_ok=True)
    pins = subprocess.run(
        [python, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    ).stdout
    constraints = CONSTRAINTS
    constraints.write_text("".join(line + "\n" for line in pins.splitlines() if "==" in line and "@" not in line))
    argv = [
        python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--dest", str(WHEELS), "--find-links", str(WHEELS), "--constraint", str(constraints),
        "setuptools>=68", "wheel", str(REPO / "shared"),
    ] + [str(image.folder) for image in images]
    # Usually every wheel is already there: resolving against the folder alone takes seconds instead of a minute.
    if subprocess.run(argv + ["--no-index"], capture_output=True).returncode == 0:
        return
    if subprocess.run(argv, stderr=subprocess.DEVNULL if os.environ.get("CI") else None).returncode != 0:
        raise BuildError(
            "pip could not download the connectors' dependencies at .venv's versions (pinned in "
            f"{constraints.relative_to(REPO)}). If a pyproject.toml changed since .venv was made, bring .venv up to "
            "date with `bash tests/setup_venv.sh` and build again"
        )


def build(names: Sequence[str] = ()) -> List[ConnectorImage]:
    """Download the wheels once, then build each connector's image. Returns the images built."""
    images = [image for image in connector_images(names) if _has_dockerfile(image)]
    if not images:
        return []
    pinning_python(images)  # before anything slow: a missing .venv is the first thing a fresh clone meets
    engine = Engine.detect()
    base = engine.base_image()
    started = time.monotonic()
    download_wheels(images)
    print(f"images: wheels ready in {time.monotonic() - started:.0f}s", file=sys.stderr)
    for image in images:
        started = time.monotonic()
        engine.build(image, base)
        print(f"images: built {image.tag} in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return images


def _has_dockerfile(image: ConnectorImage) -> bool:
    if (image.folder / "Dockerfile").exists():
        return True
    print(
        f"images: skipping {image.name}: no Dockerfile (run `python -m tests.containers.scaffold {image.name}`)",
        file=sys.stderr,
    )
    return False


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    build_parser = sub.add_parser("build", help="build the images (all connectors unless named)")
    build_parser.add_argument("connectors", nargs="*", help="e.g. source-wickedreports")
    sub.add_parser("wheels", help="only fill .images/ (wheels, constraints.txt) for a hand-run `docker build`")
    venv_parser = sub.add_parser("venv-ready", help="exit 0 if .venv can pin the images, else say why and exit 1")
    venv_parser.add_argument("connectors", nargs="*", help="e.g. source-wickedreports")
    args = parser.parse_args(argv)
    try:
        if args.command == "venv-ready":
            problem = venv_problem(connector_images(args.connectors))
            if problem:
                sys.exit(f"images: {problem}")
            return
        if args.command == "wheels":
            download_wheels(connector_images())
            return
        built = build(args.connectors)
    except BuildError as error:
        sys.exit(f"images: {error}")
    for image in built:
        print(image.tag)


if __name__ == "__main__":
    main()
