"""The CDK names the connectors borrow: every one still there, every one used only from ``connectors_shared.cdk_hooks``.

When an airbyte-cdk (or requests, urllib3, serpyco_rs) upgrade breaks a hook, ``test_hooked_names_are_there`` fails
with the hook's name and what changed; the module docstring of ``cdk_hooks`` says what each hook is for.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import json
import logging
import re
import sys
import time
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

import pytest
import requests
from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory
from airbyte_cdk.sources.streams.http.exceptions import UserDefinedBackoffException
from airbyte_cdk.sources.streams.http.rate_limiting import user_defined_backoff_handler
from airbyte_cdk.sources.types import StreamSlice
from packaging.requirements import Requirement
from serpyco_rs import Serializer

from connectors_shared import cdk_hooks
from connectors_shared.cdk_hooks import HOOKS, CdkHookError, HookedComponentFactory
from connectors_shared.component_factory import ComponentFactory
from connectors_shared.cursors import PartitionWindowCursor
from connectors_shared.rate_limiting import HeaderPacedBudget

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "shared" / "connectors_shared"
HOOKS_FILE = SHARED / "cdk_hooks.py"
CONNECTOR_PACKAGES = sorted(path for path in REPO.glob("source-*/source_*") if (path / "__init__.py").exists())
OWN_PACKAGES = {"connectors_shared", *(path.name for path in CONNECTOR_PACKAGES)}


@pytest.mark.parametrize("hook", HOOKS, ids=[hook.name for hook in HOOKS])
def test_hooked_names_are_there(hook: cdk_hooks.Hook) -> None:
    problem = hook.problem()
    assert problem is None, (
        f"The '{hook.name}' hook of connectors_shared/cdk_hooks.py no longer fits the installed libraries: {problem}. "
        f"{'It falls back to the stock CDK path (slower, still correct)' if hook.speed_only else 'It is required'}; "
        f"the module docstring says what it is for. The connectors are tested with {cdk_hooks.PIN}."
    )


# --- the pin -------------------------------------------------------------------------------------------------------


def _cdk_requirements() -> Dict[str, str]:
    found = {}
    for folder in [REPO / "shared", *sorted(REPO.glob("source-*"))]:
        pyproject = folder / "pyproject.toml"
        if not pyproject.exists():
            continue
        for line in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
            requirement = Requirement(line)
            if requirement.name == "airbyte-cdk":
                found[folder.name] = str(requirement)
    return found


def test_airbyte_cdk_is_pinned_to_the_tested_minor_release_everywhere() -> None:
    requirements = _cdk_requirements()
    assert "shared" in requirements and len(requirements) > 1
    assert set(requirements.values()) == {cdk_hooks.PIN}, requirements
    specifier = Requirement(cdk_hooks.PIN).specifier
    assert version("airbyte-cdk") in specifier, f"installed airbyte-cdk {version('airbyte-cdk')} is outside {cdk_hooks.PIN}"
    assert "7.40.0" not in specifier and "8.0.0" not in specifier  # a minor upgrade is a deliberate change


def test_no_image_or_setup_script_installs_another_airbyte_cdk() -> None:
    files = [*REPO.glob("source-*/Dockerfile"), *(REPO / "tests").rglob("*.sh"), *(REPO / "tests" / "containers").glob("*.py")]
    for path in files:
        for match in re.finditer(r"airbyte[-_]cdk\s*([<>=~!][^\s\"']*)", path.read_text()):
            assert match.group(1) == cdk_hooks.PIN.removeprefix("airbyte-cdk"), f"{path.relative_to(REPO)} pins {match.group(0)}"


# --- what a hook does when its target is there, and when it is not --------------------------------------------------


def test_the_cdk_sleeps_one_second_more_than_a_strategy_answers_and_says_rate_limit(monkeypatch, caplog) -> None:
    # cdk_backoff_sleep: RateLimitAwareBackoff answers a second less, QuietCdkBackoffLog drops the CDK's line.
    sleeps: List[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    calls = []
    request = requests.Request("GET", "http://127.0.0.1:9/orders").prepare()
    response = requests.Response()
    response.status_code, response.request = 503, request

    def send() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise UserDefinedBackoffException(backoff=cdk_hooks.cdk_backoff_answer(5.0), request=request, response=response)
        return "ok"

    monkeypatch.setattr(logging.getLogger("airbyte"), "filters", [])  # see the CDK's line before our filter drops it
    with caplog.at_level(logging.INFO, logger="airbyte"):
        assert user_defined_backoff_handler(max_tries=3)(send)() == "ok"
    assert [round(seconds, 3) for seconds in sleeps if seconds] == [5.0]
    lines = [record for record in caplog.records if str(record.msg).startswith(cdk_hooks.CDK_BACKOFF_LOG_PREFIX)]
    assert lines and not cdk_hooks.QuietCdkBackoffLog().filter(lines[0])


def _wickedreports(**overrides: Any) -> Any:
    source_wickedreports = importlib.import_module("source_wickedreports")
    config = {"api_key": "k" * 20, "start_date": "2024-01-01", **overrides}
    return source_wickedreports.SourceWickedreports(config=config)


def test_streams_are_built_by_the_switched_factory_with_the_header_paced_budget() -> None:
    source = _wickedreports()
    factory = source._constructor
    assert type(factory) is ComponentFactory
    assert source.streams(source.effective_config)
    assert isinstance(source.budget, HeaderPacedBudget) and factory.installed_api_budget is source.budget


def test_every_incremental_stream_can_probe_its_windows_through_its_own_retriever() -> None:
    # The window_sizing hook: the factory's create_simple_retriever override is what the CDK calls, and hands the
    # stream's retriever (switched to HookedSimpleRetriever) to its window cursor.
    source = _wickedreports()
    for stream in source.streams(source.effective_config):
        probe = vars(stream.cursor).get("_probe")
        assert probe is not None, stream.name
        assert type(probe.retriever) is cdk_hooks.HookedSimpleRetriever and probe.retriever.first_page_source is probe


def test_api_budget_falls_back_to_the_cdks_own_when_the_factory_keeps_no_budget() -> None:
    factory = cdk_hooks.recast(ModelToComponentFactory(), ComponentFactory)
    asked = []
    factory.api_budget_provider = lambda definition, config: asked.append(definition) or "ours"
    del factory._api_budget  # as if the CDK had renamed it
    definition = {"type": "HTTPAPIBudget", "policies": []}
    factory.set_api_budget(definition, {})
    assert asked == [] and factory.installed_api_budget not in (None, "ours")


def test_serializer_schemas_fall_back_to_serpyco_when_it_changed_shape(monkeypatch) -> None:
    monkeypatch.setattr(cdk_hooks, "_serializer_originals", {})
    monkeypatch.setattr(cdk_hooks, "serializer_schemas_problem", lambda: "Serializer changed")
    method = Serializer.get_json_schema
    assert cdk_hooks.defer_serializer_json_schemas() is False
    assert Serializer.get_json_schema is method


def test_hashed_slices_fall_back_to_the_cdks_slice_when_they_cannot_be_built() -> None:
    class Broken(StreamSlice):
        def __init__(self, **_: Any) -> None:
            raise TypeError("StreamSlice changed")

    stream_slice = StreamSlice(partition={}, cursor_slice={"start_time": "a", "end_time": "b"})
    assert cdk_hooks.hashed_slice(Broken, stream_slice) is stream_slice


def _selector(**overrides: Any) -> Any:
    from airbyte_cdk.sources.declarative.extractors import DpathExtractor, RecordSelector

    from connectors_shared.normalizer import SchemaNormalizer

    arguments: Dict[str, Any] = dict(extractor=DpathExtractor(field_path=["results"], config={}, parameters={}),
                                     config={}, parameters={}, schema_normalization=SchemaNormalizer(), name="orders")
    arguments.update(overrides)
    return RecordSelector(**arguments)


def _page(body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = 200, json.dumps(body).encode()
    return response


SCHEMA = {"type": "object", "properties": {"amount": {"type": "number"}, "date": {"type": "string", "format": "date-time"}}}
PAGE = {"results": [{"id": 1, "amount": "79", "date": "2024-01-05T02:00:27"}, {"id": 2, "amount": 5, "extra": None}]}


@pytest.mark.parametrize("with_schema", [True, False])
def test_the_hooked_selector_gives_the_records_and_the_count_the_cdks_gives(with_schema: bool) -> None:
    from airbyte_cdk.sources.declarative.extractors import RecordSelector
    from airbyte_cdk.sources.declarative.extractors.record_selector import extracted_record_count

    schema = SCHEMA if with_schema else {}
    stream_slice = StreamSlice(partition={}, cursor_slice={"start_time": "a", "end_time": "b"})
    stock_page, hooked_page = _page(PAGE), _page(PAGE)
    stock = list(RecordSelector.select_records(_selector(), stock_page, {}, schema, stream_slice))
    hooked_selector = cdk_hooks.recast(_selector(), cdk_hooks.HookedRecordSelector)
    hooked = list(hooked_selector.select_records(hooked_page, {}, schema, stream_slice))
    assert [(r.data, r.stream_name, r.associated_slice) for r in hooked] == [
        (r.data, r.stream_name, r.associated_slice) for r in stock]
    assert hooked[0].data["amount"] == (79 if with_schema else "79")
    assert extracted_record_count(hooked_page, -1) == extracted_record_count(stock_page, -1) == 2


def test_a_selector_with_a_filter_or_a_transformation_takes_the_cdks_path() -> None:
    from airbyte_cdk.sources.declarative.extractors import RecordFilter
    from airbyte_cdk.sources.declarative.transformations import AddFields
    from airbyte_cdk.sources.declarative.transformations.add_fields import AddedFieldDefinition

    only_first = RecordFilter(config={}, parameters={}, condition="{{ record['id'] == 1 }}")
    filtered = cdk_hooks.recast(_selector(record_filter=only_first), cdk_hooks.HookedRecordSelector)
    assert [r.data["id"] for r in filtered.select_records(_page(PAGE), {}, SCHEMA)] == [1]
    added = AddFields(fields=[AddedFieldDefinition(path=["source"], value="api", value_type=None, parameters={})], parameters={})
    transformed = cdk_hooks.recast(_selector(transformations=[added]), cdk_hooks.HookedRecordSelector)
    assert [r.data["source"] for r in transformed.select_records(_page(PAGE), {}, SCHEMA)] == ["api", "api"]


def test_every_retriever_of_every_connector_selects_records_with_the_hooked_selector(monkeypatch) -> None:
    from tests.harness import connectors

    built = []
    create = HookedComponentFactory.create_simple_retriever

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(create(self, *args, **kwargs))
        return built[-1]

    monkeypatch.setattr(HookedComponentFactory, "create_simple_retriever", spy)
    for connector in connectors():
        module = importlib.import_module(connector.name.replace("-", "_"))
        source_class = next(value for name, value in vars(module).items() if name.startswith("Source"))
        source = source_class(config=connector.sandbox_config("http://127.0.0.1:9"))
        before = len(built)
        assert source.streams(source.effective_config)
        assert len(built) > before, connector.name
    assert {type(retriever.record_selector) for retriever in built} == {cdk_hooks.HookedRecordSelector}
    assert {type(retriever) for retriever in built} == {cdk_hooks.HookedSimpleRetriever}  # each names its stream


def test_record_selection_falls_back_to_the_cdks_selector_when_it_changed_shape(monkeypatch) -> None:
    from airbyte_cdk.sources.declarative.extractors import RecordSelector

    monkeypatch.setattr(cdk_hooks, "_record_selection", {})
    monkeypatch.setattr(cdk_hooks, "record_selection_problem", lambda: "RecordSelector changed")
    source = _wickedreports()
    for stream in source.streams(source.effective_config):
        assert type(vars(stream.cursor)["_probe"].retriever.record_selector) is RecordSelector


@pytest.mark.parametrize("hook", ["factory_class", "custom_cursor", "datetime_cursor", "window_sizing"])
def test_a_required_hook_that_cannot_work_stops_the_source_naming_it(monkeypatch, hook: str) -> None:
    source_wickedreports = importlib.import_module("source_wickedreports")

    class Keyset(ComponentFactory):
        def custom_concurrent_cursor(self, model: Any, stream_slicer: Any, config: Any) -> Any:
            return None

    class Source(source_wickedreports.SourceWickedreports):
        component_factory = Keyset

    monkeypatch.setattr(cdk_hooks, f"{hook}_problem", lambda: "it changed")
    with pytest.raises(CdkHookError, match=f"'{hook}' hook .*it changed.*{re.escape(cdk_hooks.PIN)}"):
        Source(config={"api_key": "k" * 20, "start_date": "2024-01-01"})


def test_the_partition_cursor_hook_stops_a_source_that_needs_it_when_it_cannot_work(monkeypatch) -> None:
    source_wickedreports = importlib.import_module("source_wickedreports")

    class Partitioned(ComponentFactory):
        partition_cursor_class = PartitionWindowCursor

    class Source(source_wickedreports.SourceWickedreports):
        component_factory = Partitioned

    Source(config={"api_key": "k" * 20, "start_date": "2024-01-01"})  # works as installed
    monkeypatch.setattr(cdk_hooks, "partition_cursor_problem", lambda: "it changed")
    with pytest.raises(CdkHookError, match=f"'partition_cursor' hook .*it changed.*{re.escape(cdk_hooks.PIN)}"):
        Source(config={"api_key": "k" * 20, "start_date": "2024-01-01"})

    class Unpartitioned(ComponentFactory):  # every ComponentFactory sizes per-partition windows, unless told not to
        partition_cursor_class = None

    class Plain(source_wickedreports.SourceWickedreports):
        component_factory = Unpartitioned

    Plain(config={"api_key": "k" * 20, "start_date": "2024-01-01"})  # not needed


def test_the_custom_cursor_hook_reaches_a_subclass() -> None:
    built = []

    class Marker(ComponentFactory):
        def custom_concurrent_cursor(self, model: Any, stream_slicer: Any, config: Any) -> Any:
            built.append(model.name)
            return None

    source_wickedreports = importlib.import_module("source_wickedreports")

    class Source(source_wickedreports.SourceWickedreports):
        component_factory = Marker

    source = Source(config={"api_key": "k" * 20, "start_date": "2024-01-01"})
    names = [stream.name for stream in source.streams(source.effective_config)]
    assert set(built) == set(names)
    assert isinstance(source._constructor.connector_state_manager, type(source._connector_state_manager))


# --- no module but cdk_hooks borrows a private name ------------------------------------------------------------------


def _third_party(module: str) -> bool:
    root = module.split(".")[0]
    return bool(root) and root not in OWN_PACKAGES and root not in sys.stdlib_module_names and root != "__future__"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _module_name(path: Path) -> str:
    if path.parent == SHARED:
        return f"connectors_shared.{path.stem}"
    return f"{path.parent.name}.{path.stem}"


def _own_files() -> List[Path]:
    files = [path for path in sorted(SHARED.glob("*.py")) if path != HOOKS_FILE]
    for package in CONNECTOR_PACKAGES:
        files += sorted(package.glob("*.py"))
    return files


def _own_private_names(files: List[Path]) -> Set[str]:
    """Private names this repository defines itself: functions, classes, module globals, attributes it assigns."""
    names: Set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and _private(node.name):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and _private(node.id):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr):
                if isinstance(node.value, ast.Name) and node.value.id == "self":
                    names.add(node.attr)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "setdefault")
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "__dict__"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)  # an attribute of our own kept in __dict__: setdefault("_ceilings", {})
    return names


def _library_defines(cls: type, name: str) -> Optional[str]:
    """The third-party class in ``cls``'s bases that defines or uses ``name``, if any."""
    for base in cls.__mro__[1:]:
        if not _third_party(base.__module__):
            continue
        if name in vars(base):
            return base.__qualname__
        try:
            source = inspect.getsource(base)
        except (OSError, TypeError):
            continue
        if re.search(rf"\bself\.{re.escape(name)}\b|^\s*{re.escape(name)}\s*[:=]", source, re.MULTILINE):
            return base.__qualname__
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: Path, own: Set[str], module: Any = None) -> None:
        self.path = path
        self.shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
        self.module = module or importlib.import_module(_module_name(path))
        self.own = own
        self.classes: List[type] = []
        self.imported: Set[str] = set()  # names bound to third-party modules or objects
        self.stdlib: Set[str] = set()  # names bound to standard-library modules (their private names are not hooks)
        self.findings: List[str] = []

    def report(self, node: ast.AST, what: str) -> None:
        self.findings.append(f"{self.shown}:{getattr(node, 'lineno', '?')}: {what}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in sys.stdlib_module_names:
                self.stdlib.add((alias.asname or alias.name).split(".")[0])
            if _third_party(alias.name):
                self.imported.add((alias.asname or alias.name).split(".")[0])
                if any(_private(part) for part in alias.name.split(".")):
                    self.report(node, f"imports {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or not _third_party(module):
            return
        if any(_private(part) for part in module.split(".")):
            self.report(node, f"imports from {module}")
        for alias in node.names:
            self.imported.add(alias.asname or alias.name)
            if _private(alias.name):
                self.report(node, f"imports {module}.{alias.name}")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        cls = getattr(self.module, node.name, None)
        if isinstance(cls, type) and not self.classes:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and _private(item.name):
                    owner = _library_defines(cls, item.name)
                    if owner:
                        self.report(item, f"{node.name} overrides {owner}.{item.name}")
        self.classes.append(cls if isinstance(cls, type) else object)
        self.generic_visit(node)
        self.classes.pop()

    def _receiver_is_self(self, value: ast.AST) -> bool:
        if isinstance(value, ast.Name) and value.id in ("self", "cls"):
            return True
        return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super"

    def _check_private(self, node: ast.AST, receiver: ast.AST, name: str) -> None:
        if self._receiver_is_self(receiver) and self.classes:
            owner = _library_defines(self.classes[-1], name)
            if owner:
                self.report(node, f"uses {owner}.{name}")
        elif not self._receiver_is_self(receiver) and name not in self.own:
            if not (isinstance(receiver, ast.Name) and receiver.id in self.stdlib):
                self.report(node, f"uses .{name} of a library object")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "__class__" and isinstance(node.ctx, ast.Store):
            self.report(node, "switches an object's class")
        elif _private(node.attr):
            self._check_private(node, node.value, node.attr)
        if isinstance(node.ctx, ast.Store):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in self.imported:
                self.report(node, f"patches {ast.unparse(node)}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if name in ("getattr", "setattr", "hasattr", "delattr") and len(node.args) >= 2:
            target, attribute = node.args[0], node.args[1]
            if isinstance(attribute, ast.Constant) and isinstance(attribute.value, str) and _private(attribute.value):
                self._check_private(node, target, attribute.value)
            if name == "setattr":
                root = target
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in self.imported:
                    self.report(node, f"patches {ast.unparse(target)}")
        self.generic_visit(node)


def test_no_module_but_cdk_hooks_uses_a_private_name_of_a_library() -> None:
    files = _own_files()
    own = _own_private_names(files)
    findings: List[str] = []
    for path in files:
        scanner = _Scanner(path, own)
        scanner.visit(ast.parse(path.read_text()))
        findings += scanner.findings
    assert not findings, (
        "Only connectors_shared/cdk_hooks.py may read private attributes of library objects, override their private "
        "methods, switch their class or patch them; move these there, as a hook with its entry in the docstring:\n"
        + "\n".join(findings)
    )


def test_the_scanner_sees_each_kind_of_borrowing(tmp_path: Path) -> None:
    sample = (
        "import requests\n"
        "from serpyco_rs import _main\n"
        "from airbyte_cdk.sources.streams.concurrent.cursor import ConcurrentCursor\n"
        "class C(ConcurrentCursor):\n"
        "    def _extract_cursor_value(self, record):\n"
        "        return self._connector_state_converter\n"
        "def f(source, response):\n"
        "    source.__class__ = C\n"
        "    requests.Session.send = f\n"
        "    getattr(source, '_config', None)\n"
        "    return response._content\n"
    )
    path = tmp_path / "sample.py"
    path.write_text(sample)
    spec = importlib.util.spec_from_file_location("scanner_sample", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    scanner = _Scanner(path, _own_private_names([]), module)
    scanner.visit(ast.parse(sample))
    text = "\n".join(scanner.findings)
    for expected in ("imports serpyco_rs._main", "overrides ConcurrentCursor._extract_cursor_value",
                     "uses ConcurrentCursor._connector_state_converter", "switches an object's class",
                     "patches requests.Session.send", "uses ._config", "uses ._content"):
        assert expected in text, text


def test_hooked_component_factory_is_only_ever_switched_to() -> None:
    # It adds no __init__ state: an instance the CDK built keeps everything when its class is switched.
    assert "__init__" not in vars(HookedComponentFactory) and "__init__" not in vars(ComponentFactory)
    assert "__init__" not in vars(cdk_hooks.HookedConcurrentCursor)
    assert "__init__" not in vars(cdk_hooks.HookedPartitionCursor) and "__init__" not in vars(PartitionWindowCursor)


def test_the_config_validation_contract_notices_an_entrypoint_that_stops_calling_validate_connection(monkeypatch) -> None:
    from airbyte_cdk.entrypoint import AirbyteEntrypoint

    assert cdk_hooks.config_validation_contract_problem() is None

    def discover(self: Any, source_spec: Any, config: Any) -> Any:
        return self.source.discover(self.logger, config)  # as if the CDK no longer validated the config here

    monkeypatch.setattr(AirbyteEntrypoint, "discover", discover)
    assert "AirbyteEntrypoint.discover no longer validates" in cdk_hooks.config_validation_contract_problem()
