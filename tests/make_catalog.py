"""Make a configured catalog (what ``read --catalog`` takes) from a connector's ``discover``, as a user would pick it.

Every stream is selected. A stream that supports incremental sync and has a primary key is read incrementally,
deduplicated by that key at the destination (``incremental`` + ``append_dedup``: the next sync reads only what is new
and changed, and a changed record replaces its old row); any other stream is read whole each time and replaces the
previous copy (``full_refresh`` + ``overwrite``).

From the repository root:

    python -m tests.make_catalog                          # every connector: writes source-*/integration_tests/configured_catalog.json
    python -m tests.make_catalog source-wickedreports     # one connector (a folder path works too)
    python -m tests.make_catalog --check                  # exit 1 when a file differs from what discover gives now
    source-wickedreports discover --config config.json | python -m tests.make_catalog --from-discover > catalog.json

Written files keep each stream's name, sync modes, primary key and cursor, and leave ``json_schema`` empty: the
connector reads with the schemas in its own package, never with the catalog's, and an empty schema keeps the file
from changing whenever a field is added. ``--from-discover`` keeps the discovered schemas, as Airbyte does.
Discover needs no network: the connector's sandbox config is used, with a base_url no request is sent to.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

from tests.harness import REPO, Connector, ConnectorRunner, Run, _parse, connectors

CATALOG_FILE = Path("integration_tests") / "configured_catalog.json"
# The same choice without this repository (only Python's standard library), for a connector installed on its own. It
# holds no single quote, so that a shell takes it whole inside '...':
#   source-x discover --config config.json | python3 -c '<PYTHON_ONE_LINER>' > catalog.json
# tests/test_configured_catalogs.py runs it and compares its output with configured_catalog().
PYTHON_ONE_LINER = """import json, sys
c = next(json.loads(l)["catalog"] for l in sys.stdin if l.startswith("{\\"type\\":\\"CATALOG\\""))
inc = lambda s: "incremental" in s["supported_sync_modes"] and bool(s.get("source_defined_primary_key"))
print(json.dumps({"streams": [{"stream": s, "sync_mode": "incremental" if inc(s) else "full_refresh",
  "destination_sync_mode": "append_dedup" if inc(s) else "overwrite",
  "cursor_field": s.get("default_cursor_field", []) if inc(s) else [],
  "primary_key": s.get("source_defined_primary_key", [])} for s in c["streams"]]}, indent=1))"""
# discover reads no API: any address does for base_url, and none is contacted.
DISCOVER_URL = "http://127.0.0.1:9"


def configured_stream(stream: Dict[str, Any], keep_schema: bool = True) -> Dict[str, Any]:
    """One discovered stream (an ``AirbyteStream`` as JSON) configured as a user would pick it (module docstring)."""
    primary_key = stream.get("source_defined_primary_key") or []
    incremental = "incremental" in (stream.get("supported_sync_modes") or []) and bool(primary_key)
    described = dict(stream) if keep_schema else {**stream, "json_schema": {}}
    return {
        "stream": described,
        "sync_mode": "incremental" if incremental else "full_refresh",
        "destination_sync_mode": "append_dedup" if incremental else "overwrite",
        "cursor_field": list(stream.get("default_cursor_field") or []) if incremental else [],
        "primary_key": primary_key,
    }


def configured_catalog(catalog: Dict[str, Any], keep_schema: bool = True) -> Dict[str, Any]:
    """Every stream of a discovered catalog (``{"streams": [...]}``), configured by ``configured_stream``."""
    return {"streams": [configured_stream(stream, keep_schema) for stream in catalog["streams"]]}


def from_discover_output(text: str, keep_schema: bool = True) -> Dict[str, Any]:
    """The configured catalog for the CATALOG message in ``discover``'s output (one Airbyte message a line)."""
    run = Run(list(_parse(text)), 0, "")
    catalogs = run.of_type("CATALOG")
    if not catalogs:
        errors = "; ".join(str(error.get("message")) for error in run.errors)
        raise SystemExit(
            "make_catalog: no CATALOG message in the input (is it the output of `discover`?)"
            + (f" The connector said: {errors}" if errors else "")
        )
    return configured_catalog(catalogs[-1]["catalog"], keep_schema)


def find_connector(name_or_path: str) -> Connector:
    """``source-x``, ``./source-x`` or ``/abs/path/source-x``: a connector folder with a sandbox config."""
    wanted = Path(name_or_path.rstrip("/")).name
    for connector in connectors():
        if connector.name == wanted:
            return connector
    raise SystemExit(f"make_catalog: no connector {name_or_path!r}; known: {', '.join(c.name for c in connectors())}")


def discovered(connector: Connector, config: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The connector's discovered catalog, from a ``discover`` subprocess."""
    return ConnectorRunner(connector, config or connector.sandbox_config(DISCOVER_URL)).discover_catalog()


def catalog_path(connector: Connector) -> Path:
    return connector.folder / CATALOG_FILE


def _inline(value: Any) -> bool:
    """Lists of names and key paths (``["id"]``, ``[["contactId"], ["date"]]``) read best on one line."""
    return isinstance(value, list) and all(
        not isinstance(item, (dict, list)) or (isinstance(item, list) and _inline(item)) for item in value
    )


def _dump(value: Any, depth: int = 0) -> str:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(key)}: {_dump(item, depth + 1)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value and not _inline(value):
        return "[\n" + ",\n".join(f"{inner}{_dump(item, depth + 1)}" for item in value) + f"\n{pad}]"
    return json.dumps(value, separators=(", ", ": "))


def file_text(catalog: Dict[str, Any]) -> str:
    """The catalog as JSON, two-space indented, with key paths and mode lists kept on one line."""
    return _dump(catalog) + "\n"


def expected_file(connector: Connector) -> str:
    """What ``configured_catalog.json`` of ``connector`` should hold, from its discover now."""
    return file_text(configured_catalog(discovered(connector), keep_schema=False))


def _selected(names: Sequence[str]) -> List[Connector]:
    return [find_connector(name) for name in names] if names else connectors()


def write(names: Sequence[str] = ()) -> List[Path]:
    written = []
    for connector in _selected(names):
        path = catalog_path(connector)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(expected_file(connector))
        written.append(path)
    return written


def stale(names: Sequence[str] = ()) -> List[str]:
    """The connectors whose file is missing or differs from what their discover gives now."""
    found = []
    for connector in _selected(names):
        path = catalog_path(connector)
        if not path.exists() or path.read_text() != expected_file(connector):
            found.append(connector.name)
    return found


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("connectors", nargs="*", help="source-x names or folders (default: every connector)")
    parser.add_argument("--from-discover", action="store_true",
                        help="read discover's output on stdin, print the configured catalog on stdout")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file is stale")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.from_discover:
        sys.stdout.write(file_text(from_discover_output(sys.stdin.read())))
        return 0
    if args.check:
        outdated = stale(args.connectors)
        for name in outdated:
            print(f"{name}/{CATALOG_FILE} differs from its discover: run python -m tests.make_catalog {name}")
        return 1 if outdated else 0
    for path in write(args.connectors):
        print(f"make_catalog: wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
