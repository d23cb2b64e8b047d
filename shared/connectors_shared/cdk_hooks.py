"""Every use this repository makes of a name that airbyte-cdk (or another library) does not offer as public API.

The connectors lean on the CDK in a few places where its public API has no way in. Each such place is a *hook*,
and every hook lives here: no other module of ``connectors_shared`` or of a connector reads a private attribute of
a library object, overrides a private library method, switches an object's class or patches a library
(``shared/tests/test_cdk_hooks.py`` scans them to keep it so). airbyte-cdk is pinned to the minor release the hooks
were written against (``airbyte-cdk~=7.39.1`` in ``shared/pyproject.toml`` and every connector's); the same test
fails, naming the hook, when an upgrade removes or changes a hooked name.

Two kinds of hook. A *speed* hook only makes something cheaper: when its target is missing it does nothing and the
stock CDK path runs, so an upgrade may cost speed, never correctness. A *required* hook carries behaviour the
connectors promise (a keyset cursor, a state that a vendor's date in 2099 cannot break, redirects that keep
credentials at the API). Its test fails on an upgrade that breaks it; where the connector can tell at run time (the
factory, cursor, source-state and session hooks) it raises ``CdkHookError`` naming the hook rather than run on
without it.

==========================  =========  ==================================================================
hook                        kind       target, why, and what the stock path costs
==========================  =========  ==================================================================
serializer_schemas          speed      ``serpyco_rs._main.Serializer`` (``_schema``, module-level
                                       ``get_json_schema``). Importing the CDK builds a JSON schema for
                                       every protocol model that nothing reads. Stock: 0.4-0.8 s more
                                       start-up for every spec, check, discover and read.
factory_class               required   ``ConcurrentDeclarativeSource._constructor`` and a ``__class__``
                                       switch to a ``HookedComponentFactory`` subclass. The CDK builds its
                                       factory inside ``__init__`` (wired to its queue and state manager)
                                       and offers no way to name another. Stock: none of the three
                                       factory hooks below.
custom_cursor               required   ``ModelToComponentFactory._build_concurrent_cursor`` (and its
                                       ``_connector_state_manager``), reached through
                                       ``custom_concurrent_cursor``. SHOPLINE's keyset cursor per campaign;
                                       the manifest schema has no custom cursor. Stock: no incremental
                                       state for affiliate_campaign_orders.
datetime_cursor             required   ``create_concurrent_cursor_from_datetime_based_cursor`` switching the
                                       built ``ConcurrentCursor`` to ``datetime_cursor_class``, whose
                                       ``_extract_cursor_value`` override reads ``_connector_state_converter``
                                       and ``_slice_boundary_fields_wrapper``. Keeps a vendor's record dated
                                       2099 from moving the state past its window; also skips ``strptime``
                                       per record. Stock: a future date ends incremental syncs for good.
partition_cursor            required   ``create_concurrent_cursor_from_perpartition_cursor`` switching the
                                       built ``ConcurrentPerPartitionCursor`` to ``partition_cursor_class``
                                       (``HookedPartitionCursor``), which overrides
                                       ``_throttle_state_message`` and ``observe``, and reads
                                       ``_use_global_cursor``, ``_timer``, ``_partition_router``,
                                       ``_generate_slices_from_partition``, ``_cursor_per_partition``,
                                       ``_to_partition_key`` and ``_synced_some_data``. Leadway's locations: a
                                       state message after every finished window, partitions read side by
                                       side, no per-record parse for a cursor nobody reads. Stock: state
                                       every 600 s only, one location after the other, ~30 µs per record.
window_sizing               required   ``ModelToComponentFactory.create_simple_retriever(cursor=)`` (put in
                                       its ``PYDANTIC_MODEL_TO_CONSTRUCTOR`` in place of the base's), switching
                                       the built ``SimpleRetriever`` to ``HookedSimpleRetriever`` (its
                                       ``_fetch_next_page`` and ``_get_initial_next_page_token``), the
                                       cursor's ``_slice_range`` / ``_cursor_granularity`` /
                                       ``_end_provider``, and
                                       ``ConcurrentPerPartitionCursor._generate_slices_from_partition``.
                                       Date windows sized from the advertised total of one probe request
                                       (``connectors_shared.window_sizing``). Every retriever is switched:
                                       while it fetches, it names its stream (``reading_stream``, for
                                       ``page_sharing``). Stock: windows of the manifest's ``step``, now the
                                       widest one (ten years where the API has no limit), so a source
                                       refuses to run without the hook.
hashed_slices               speed      ``StreamSlice(partition=, cursor_slice=, extra_fields=)`` and its
                                       ``__hash__``, which ``ConcurrentCursor.observe`` computes twice per
                                       record. Stock: each record's slice serialised to JSON and SHA-256
                                       hashed twice (with ``strptime``, a third of a read's CPU).
record_selection            speed      ``RecordSelector`` instances switched to ``HookedRecordSelector``
                                       (``select_records`` overridden; it reads ``file_uploader``,
                                       ``_DroppedEmptyRecord`` and ``_EXTRACTED_RECORD_COUNT``), and the
                                       ``Mapping`` global of ``declarative_partition_generator`` set to
                                       ``collections.abc.Mapping``. One loop per page instead of four
                                       chained generators per record. Stock: about 10% more CPU per record.
api_budget                  speed      ``ModelToComponentFactory.set_api_budget`` / ``_api_budget``. Serves
                                       the manifest's ``api_budget`` with ``HeaderPacedBudget`` instead of
                                       the CDK's ``HTTPAPIBudget``. Stock: the CDK's budget, pacing by the
                                       declared window (its ``limit``) with a limiter thread (~5% CPU).
source_state                required   ``ConcurrentDeclarativeSource._source_config`` (the resolved
                                       manifest) and ``_config`` (the config after the spec's migrations).
                                       Read by the saved-state checks, the budget's vendor name and
                                       TextYess's check.
session_guard               required   ``requests.Session.send`` / ``get_redirect_target`` wrapped,
                                       ``Response._content`` / ``_content_consumed`` set, urllib3's
                                       ``read1(decode_content=)``. No redirect to another origin, no metadata
                                       host, a deadline for every body (``connectors_shared.transport``).
cdk_backoff_sleep           required   ``user_defined_backoff_handler`` sleeps a strategy's answer plus one
                                       second, and logs each wait as "Rate limit exceeded".
                                       ``RateLimitAwareBackoff`` answers a second less; ``QuietCdkBackoffLog``
                                       drops the line (if the wording changes, the line is simply logged).
entrypoint_lines            required   The entrypoint's message lines start ``{"type":"RECORD"`` /
                                       ``{"type":"TRACE"``, and a failed concurrent read says "Concurrent read
                                       failure". Records are not scanned for secrets; a config_error trace
                                       ends a read at once; the closing error names the failed streams. If
                                       the lines change, each falls back to the CDK's own behaviour: every
                                       line scanned, no early stop, the CDK's closing summary.
record_batches              speed      ``PartitionReader.process_partition`` (its ``_queue``,
                                       ``_partition_logger``, ``_IS_SUCCESSFUL``) replaced,
                                       ``ConcurrentSource._handle_item`` wrapped, ``ConcurrentReadProcessor``
                                       ``._record_counter``, ``AirbyteEntrypoint.airbyte_message_to_string``
                                       and ``handle_record_counts`` wrapped; on in connector processes only
                                       (``launch_source``). A worker hands the main thread a page's records
                                       at once, and the main thread writes them as lines without building an
                                       AirbyteMessage for each. Stock: a queue hand-off, two message objects
                                       and a serializer pass per record (Wicked Reports reads 1.4x slower).
test_run_command            required   ``airbyte_cdk.test.entrypoint_wrapper._run_command`` (tests only):
                                       the CDK's own way to run spec and check in-process.
==========================  =========  ==================================================================

Public CDK contracts the connectors also rely on are pinned by the same test without a hook: paginators call
``next_page_token`` with ``last_page_token_value`` (``connectors_shared.pagination``); the entrypoint's check,
discover and read validate the config through its ``validate_connection``, which ``ConnectorEntrypoint`` overrides to
name each refused field in words (``connectors_shared.source``; if the CDK stopped calling it, the CDK's own
jsonschema wording would come back).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

# --- serializer_schemas (speed) ----------------------------------------------------------------------------------
# Defined and run before anything below imports airbyte_cdk: the CDK builds its serializers while it is imported.


class _DeferredSchema:
    """What a ``Serializer`` holds instead of its JSON schema until it is first asked for it."""

    __slots__ = ("type_info",)

    def __init__(self, type_info: Any) -> None:
        self.type_info = type_info


_serializer_originals: Dict[str, Any] = {}


def serializer_schemas_problem() -> Optional[str]:
    """What keeps ``defer_serializer_json_schemas`` from working with the installed serpyco_rs, or ``None``."""
    try:
        from serpyco_rs import _main
    except ImportError as error:
        return f"serpyco_rs._main cannot be imported ({error})"
    serializer_class = getattr(_main, "Serializer", None)
    if serializer_class is None:
        return "serpyco_rs._main.Serializer is gone"
    init = getattr(serializer_class.__init__, "__code__", None)
    if init is None or "get_json_schema" not in init.co_names or "_schema" not in init.co_names:
        return "Serializer.__init__ no longer stores get_json_schema(...) in self._schema"
    method = _serializer_originals.get("method", getattr(serializer_class, "get_json_schema", None))
    code = getattr(method, "__code__", None)
    if code is None or "_schema" not in code.co_names:
        return "Serializer.get_json_schema no longer returns self._schema"
    if not callable(_serializer_originals.get("build", getattr(_main, "get_json_schema", None))):
        return "serpyco_rs._main.get_json_schema is gone"
    return None


def defer_serializer_json_schemas() -> bool:
    """Make ``serpyco_rs.Serializer`` build its JSON schema on first use; True once that is in place.

    Serialisation is unchanged: ``Serializer.__init__`` keeps the type instead of a schema, and
    ``get_json_schema()`` builds the schema on its first call. With a serpyco_rs of another shape it does nothing.
    """
    if "build" in _serializer_originals:
        return True
    if serializer_schemas_problem():
        return False
    from serpyco_rs import _main

    serializer_class = _main.Serializer
    if getattr(serializer_class.get_json_schema, "deferred_by_connectors", False):
        return True  # done by another copy of this module
    build_schema: Callable[[Any], Any] = _main.get_json_schema
    original_method = serializer_class.get_json_schema

    def get_json_schema(self: Any) -> Any:
        schema = self._schema
        if isinstance(schema, _DeferredSchema):
            schema = self._schema = build_schema(schema.type_info)
        return schema

    get_json_schema.__doc__ = original_method.__doc__
    get_json_schema.deferred_by_connectors = True  # type: ignore[attr-defined]
    _serializer_originals.update(build=build_schema, method=original_method)
    serializer_class.get_json_schema = get_json_schema
    _main.get_json_schema = _DeferredSchema  # what Serializer.__init__ calls: now it only keeps the type
    return True


defer_serializer_json_schemas()

# --- everything else needs the CDK --------------------------------------------------------------------------------

import collections.abc  # noqa: E402
import contextlib  # noqa: E402
import inspect  # noqa: E402
import logging  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import typing  # noqa: E402
import weakref  # noqa: E402
from collections import deque  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Iterable, Iterator  # noqa: E402

import orjson  # noqa: E402
import requests  # noqa: E402
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource  # noqa: E402
from airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor import (  # noqa: E402
    ConcurrentPerPartitionCursor,
)
from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory  # noqa: E402
from airbyte_cdk.sources.declarative.extractors import combined_extractor as _combined_module  # noqa: E402
from airbyte_cdk.sources.declarative.extractors import record_selector as _selector_module  # noqa: E402
from airbyte_cdk.sources.declarative.extractors.record_selector import RecordSelector  # noqa: E402
from airbyte_cdk.sources.declarative.retrievers.simple_retriever import SimpleRetriever  # noqa: E402
from airbyte_cdk.sources.declarative.stream_slicers import (  # noqa: E402
    declarative_partition_generator as _partition_module,
)
from airbyte_cdk.sources.streams.concurrent.cursor import ConcurrentCursor, Cursor  # noqa: E402
from airbyte_cdk.sources.types import Record, StreamSlice  # noqa: E402

PIN = "airbyte-cdk~=7.39.1"


class CdkHookError(RuntimeError):
    """A required hook's target is missing from the installed library: the connector must not run without it."""


def _broken(hook: str, problem: str) -> CdkHookError:
    return CdkHookError(
        f"connectors_shared.cdk_hooks: the '{hook}' hook cannot work with the installed libraries: {problem}. "
        f"The connectors are tested with {PIN}; install that, or update the hook "
        "(shared/tests/test_cdk_hooks.py says what changed)."
    )


def _uses(function: Any, *names: str) -> bool:
    """Whether ``function``'s own code names every one of ``names`` (attributes, globals or methods it calls)."""
    function = inspect.unwrap(getattr(function, "fget", function))
    code = getattr(function, "__code__", None)
    return code is not None and all(name in code.co_names for name in names)


def _called_in(cls: type, name: str) -> bool:
    """Whether some method of ``cls`` (or its bases) refers to ``name``."""
    for klass in cls.__mro__:
        for value in vars(klass).values():
            if _uses(value, name):
                return True
    return False


def _parameters(function: Any) -> List[str]:
    return list(inspect.signature(function).parameters)


def _no_slots(cls: type) -> Optional[str]:
    """Why an instance of ``cls`` cannot switch to a subclass without ``__slots__``, or ``None``."""
    if not cls.__dictoffset__:
        return f"{cls.__qualname__} instances now have __slots__ only, so they cannot switch class"
    return None


# --- factory_class, custom_cursor, datetime_cursor, api_budget ----------------------------------------------------


def factory_class_problem() -> Optional[str]:
    if not _uses(ConcurrentDeclarativeSource.__init__, "_constructor"):
        return "ConcurrentDeclarativeSource.__init__ no longer keeps its component factory in self._constructor"
    if not _called_in(ConcurrentDeclarativeSource, "create_component"):
        return "ConcurrentDeclarativeSource no longer builds its components with the factory's create_component"
    return _no_slots(ModelToComponentFactory)


def custom_cursor_problem() -> Optional[str]:
    method = getattr(ModelToComponentFactory, "_build_concurrent_cursor", None)
    if method is None:
        return "ModelToComponentFactory._build_concurrent_cursor is gone"
    if _parameters(method) != ["self", "model", "stream_slicer", "config"]:
        return f"ModelToComponentFactory._build_concurrent_cursor now takes {_parameters(method)}"
    if not _uses(ModelToComponentFactory.create_default_stream, "_build_concurrent_cursor"):
        return "ModelToComponentFactory.create_default_stream no longer calls _build_concurrent_cursor"
    if not _uses(ModelToComponentFactory.__init__, "_connector_state_manager"):
        return "ModelToComponentFactory no longer keeps the state manager in self._connector_state_manager"
    return None


def datetime_cursor_problem() -> Optional[str]:
    create = getattr(ModelToComponentFactory, "create_concurrent_cursor_from_datetime_based_cursor", None)
    if create is None:
        return "ModelToComponentFactory.create_concurrent_cursor_from_datetime_based_cursor is gone"
    if not _called_in(ModelToComponentFactory, "create_concurrent_cursor_from_datetime_based_cursor"):
        return "nothing in ModelToComponentFactory calls create_concurrent_cursor_from_datetime_based_cursor"
    extract = getattr(ConcurrentCursor, "_extract_cursor_value", None)
    if extract is None or _parameters(extract) != ["self", "record"]:
        return "ConcurrentCursor._extract_cursor_value(record) is gone or changed"
    if not _uses(ConcurrentCursor.observe, "_extract_cursor_value"):
        return "ConcurrentCursor.observe no longer calls _extract_cursor_value"
    if not _uses(ConcurrentCursor.__init__, "_connector_state_converter"):
        return "ConcurrentCursor no longer keeps its state converter in self._connector_state_converter"
    if not isinstance(getattr(ConcurrentCursor, "_slice_boundary_fields_wrapper", None), property):
        return "ConcurrentCursor._slice_boundary_fields_wrapper (the slice's start and end keys) is gone"
    if not isinstance(getattr(ConcurrentCursor, "cursor_field", None), property):
        return "ConcurrentCursor.cursor_field is gone"
    return _no_slots(ConcurrentCursor)


def partition_cursor_problem() -> Optional[str]:
    create = getattr(ModelToComponentFactory, "create_concurrent_cursor_from_perpartition_cursor", None)
    if create is None:
        return "ModelToComponentFactory.create_concurrent_cursor_from_perpartition_cursor is gone"
    if not _uses(ModelToComponentFactory._build_concurrent_cursor, "create_concurrent_cursor_from_perpartition_cursor"):
        return "ModelToComponentFactory._build_concurrent_cursor no longer builds per-partition cursors with it"
    throttle = getattr(ConcurrentPerPartitionCursor, "_throttle_state_message", None)
    if throttle is None or _parameters(throttle) != ["self"]:
        return "ConcurrentPerPartitionCursor._throttle_state_message() is gone or changed"
    if not _uses(ConcurrentPerPartitionCursor._emit_state_message, "_throttle_state_message"):
        return "ConcurrentPerPartitionCursor._emit_state_message no longer asks _throttle_state_message"
    generate = getattr(ConcurrentPerPartitionCursor, "_generate_slices_from_partition", None)
    if generate is None or _parameters(generate) != ["self", "partition", "parent_state"]:
        return "ConcurrentPerPartitionCursor._generate_slices_from_partition(partition, parent_state) changed"
    if not _uses(ConcurrentPerPartitionCursor.stream_slices, "_timer", "_partition_router",
                 "_generate_slices_from_partition"):
        return "ConcurrentPerPartitionCursor.stream_slices no longer starts _timer and reads _partition_router"
    if not _uses(ConcurrentPerPartitionCursor.__init__, "_use_global_cursor", "_timer", "_partition_router"):
        return "ConcurrentPerPartitionCursor no longer keeps _use_global_cursor, _timer and _partition_router"
    if not isinstance(getattr(ConcurrentPerPartitionCursor, "state", None), property):
        return "ConcurrentPerPartitionCursor.state is no longer a property"
    if not _uses(ConcurrentPerPartitionCursor.observe, "_cursor_per_partition", "_to_partition_key",
                 "_synced_some_data", "_use_global_cursor"):
        return "ConcurrentPerPartitionCursor.observe no longer hands records to _cursor_per_partition"
    return _no_slots(ConcurrentPerPartitionCursor)


def window_sizing_problem() -> Optional[str]:
    create = getattr(ModelToComponentFactory, "create_simple_retriever", None)
    if create is None or "cursor" not in _parameters(create):
        return "ModelToComponentFactory.create_simple_retriever(..., cursor=) is gone or changed"
    fetch = getattr(SimpleRetriever, "_fetch_next_page", None)
    if fetch is None or _parameters(fetch) != ["self", "stream_slice", "next_page_token", "page_size_override"]:
        return "SimpleRetriever._fetch_next_page(stream_slice, next_page_token, page_size_override) is gone or changed"
    initial = getattr(SimpleRetriever, "_get_initial_next_page_token", None)
    if initial is None or _parameters(initial) != ["self"]:
        return "SimpleRetriever._get_initial_next_page_token() is gone or changed"
    if not _uses(SimpleRetriever._read_pages, "_fetch_next_page", "_get_initial_next_page_token"):
        return "SimpleRetriever._read_pages no longer starts at _get_initial_next_page_token and calls _fetch_next_page"
    if not _uses(ModelToComponentFactory._init_mappings, "PYDANTIC_MODEL_TO_CONSTRUCTOR", "create_simple_retriever"):
        return "ModelToComponentFactory._init_mappings no longer maps SimpleRetriever to create_simple_retriever"
    if not _uses(ModelToComponentFactory._create_component_from_model, "PYDANTIC_MODEL_TO_CONSTRUCTOR"):
        return "ModelToComponentFactory._create_component_from_model no longer builds from PYDANTIC_MODEL_TO_CONSTRUCTOR"
    if not _uses(ConcurrentCursor.__init__, "_slice_range", "_cursor_granularity"):
        return "ConcurrentCursor no longer keeps _slice_range and _cursor_granularity"
    if not _uses(ConcurrentCursor.__init__, "_end_provider") or not _uses(ConcurrentCursor.stream_slices, "_end_provider"):
        return "ConcurrentCursor.stream_slices no longer asks self._end_provider where the range ends"
    if not _uses(ConcurrentCursor._split_per_slice_range, "_slice_range", "_cursor_granularity"):
        return "ConcurrentCursor._split_per_slice_range no longer cuts windows of _slice_range"
    if not _uses(ConcurrentPerPartitionCursor.stream_slices, "_generate_slices_from_partition"):
        return "ConcurrentPerPartitionCursor.stream_slices no longer calls _generate_slices_from_partition"
    return _no_slots(SimpleRetriever)


def hashed_slices_problem() -> Optional[str]:
    if _parameters(StreamSlice.__init__) != ["self", "partition", "cursor_slice", "extra_fields"]:
        return f"StreamSlice.__init__ now takes {_parameters(StreamSlice.__init__)}"
    if "__hash__" not in vars(StreamSlice):
        return "StreamSlice no longer defines __hash__"
    return None


def api_budget_problem() -> Optional[str]:
    method = getattr(ModelToComponentFactory, "set_api_budget", None)
    if method is None or _parameters(method) != ["self", "component_definition", "config"]:
        return "ModelToComponentFactory.set_api_budget(component_definition, config) is gone or changed"
    if not _called_in(ConcurrentDeclarativeSource, "set_api_budget"):
        return "ConcurrentDeclarativeSource no longer calls set_api_budget"
    if not _uses(ModelToComponentFactory.__init__, "_api_budget"):
        return "ModelToComponentFactory no longer keeps the budget in self._api_budget"
    if not _uses(ModelToComponentFactory.create_http_requester, "_api_budget"):
        return "ModelToComponentFactory.create_http_requester no longer hands self._api_budget to requesters"
    return None


def _definition_parameters(args: Any, kwargs: Any) -> Mapping[str, Any]:
    """The ``$parameters`` of the component definition handed to ``create_concurrent_cursor_from_datetime_based_cursor``."""
    definition = kwargs.get("component_definition", args[1] if len(args) > 1 else None)
    if not isinstance(definition, Mapping):
        return {}
    return definition.get("$parameters") or definition.get("parameters") or {}


def recast(instance: Any, subclass: type) -> Any:
    """Switch ``instance`` to ``subclass``, which must add behaviour only (no ``__init__`` state of its own)."""
    if not issubclass(subclass, type(instance)):
        raise TypeError(f"{subclass.__qualname__} does not extend {type(instance).__qualname__}")
    instance.__class__ = subclass
    return instance


class HookedComponentFactory(ModelToComponentFactory):
    """The CDK's component factory with public ways in where the connectors need them.

    Never constructed: ``swap_factory`` switches the factory the CDK built to a subclass of this one. Subclasses
    set ``datetime_cursor_class`` and override ``custom_concurrent_cursor``; ``ManifestSource`` sets
    ``api_budget_provider`` on the instance.
    """

    # The class a manifest's DatetimeBasedCursor becomes (a ``HookedConcurrentCursor`` subclass), or None for stock.
    datetime_cursor_class: Optional[type] = None
    # ``(api_budget definition, config) -> budget``: what serves the manifest's api_budget, or None for the CDK's.
    api_budget_provider: Optional[Callable[[Mapping[str, Any], Mapping[str, Any]], Any]] = None
    # The class a per-partition datetime cursor becomes (a ``HookedPartitionCursor`` subclass), or None for stock.
    partition_cursor_class: Optional[type] = None

    def custom_concurrent_cursor(self, model: Any, stream_slicer: Any, config: Any) -> Optional[Cursor]:
        """A cursor for the stream ``model`` describes, or ``None`` to let the CDK build it."""
        return None

    @property
    def connector_state_manager(self) -> Any:
        """The ``ConnectorStateManager`` holding the state the sync started from."""
        return self._connector_state_manager

    def _build_concurrent_cursor(self, model: Any, stream_slicer: Any, config: Any) -> Cursor:
        cursor = self.custom_concurrent_cursor(model, stream_slicer, config)
        return cursor if cursor is not None else super()._build_concurrent_cursor(model, stream_slicer, config)

    def create_concurrent_cursor_from_datetime_based_cursor(self, *args: Any, **kwargs: Any) -> ConcurrentCursor:
        cursor = super().create_concurrent_cursor_from_datetime_based_cursor(*args, **kwargs)
        if self.datetime_cursor_class is not None and type(cursor) is ConcurrentCursor:
            recast(cursor, self.datetime_cursor_class)
            configure = getattr(cursor, "configure", None)
            if configure is not None:
                configure(_definition_parameters(args, kwargs))
        return cursor

    def create_concurrent_cursor_from_perpartition_cursor(self, *args: Any, **kwargs: Any) -> Any:
        cursor = super().create_concurrent_cursor_from_perpartition_cursor(*args, **kwargs)
        if self.partition_cursor_class is not None and type(cursor) is ConcurrentPerPartitionCursor:
            recast(cursor, self.partition_cursor_class)
        return cursor

    def create_simple_retriever(self, model: Any, config: Any, **kwargs: Any) -> Any:
        retriever = super().create_simple_retriever(model, config, **kwargs)
        attach = getattr(kwargs.get("cursor"), "attach_retriever", None)
        if type(retriever) is SimpleRetriever:
            recast(retriever, HookedSimpleRetriever)  # every stream's: each names its stream while it fetches
            if attach is not None:
                attach(retriever)
        selector = getattr(retriever, "record_selector", None)
        if type(selector) is RecordSelector and _install_record_selection():
            recast(selector, HookedRecordSelector)
        return retriever

    def set_api_budget(self, component_definition: Any, config: Any) -> None:
        provider = self.api_budget_provider
        if provider is None or "_api_budget" not in vars(self):
            super().set_api_budget(component_definition, config)  # stock: the CDK's own budget
            return
        self._api_budget = provider(component_definition, config)

    @property
    def installed_api_budget(self) -> Any:
        """The budget the factory hands to the requesters it builds."""
        return vars(self).get("_api_budget")


def swap_factory(source: ConcurrentDeclarativeSource, factory_class: type) -> HookedComponentFactory:
    """Switch the factory ``source`` built in ``__init__`` to ``factory_class``, keeping its wiring; returns it."""
    problem = factory_class_problem()
    if problem:
        raise _broken("factory_class", problem)
    if factory_class.custom_concurrent_cursor is not HookedComponentFactory.custom_concurrent_cursor:
        problem = custom_cursor_problem()
        if problem:
            raise _broken("custom_cursor", problem)
    if factory_class.datetime_cursor_class is not None:
        problem = datetime_cursor_problem()
        if problem:
            raise _broken("datetime_cursor", problem)
        problem = window_sizing_problem()
        if problem:
            raise _broken("window_sizing", problem)
    if factory_class.partition_cursor_class is not None:
        problem = partition_cursor_problem()
        if problem:
            raise _broken("partition_cursor", problem)
    factory = source._constructor
    if not isinstance(factory, ModelToComponentFactory):
        raise _broken("factory_class", f"the source's _constructor is a {type(factory).__name__}")
    recast(factory, factory_class)
    if factory_class.datetime_cursor_class is not None:
        # The CDK maps each model to a method bound when it was built: the retriever's, to the override.
        from airbyte_cdk.sources.declarative.models.declarative_component_schema import SimpleRetriever as Model

        factory.PYDANTIC_MODEL_TO_CONSTRUCTOR[Model] = factory.create_simple_retriever
    return factory


class HookedConcurrentCursor(ConcurrentCursor):
    """The CDK's ``ConcurrentCursor`` with public names for what a subclass reads and overrides.

    Built by the CDK as a ``ConcurrentCursor`` and switched to a subclass (``HookedComponentFactory``), so it adds
    no state in ``__init__``.
    """

    def _extract_cursor_value(self, record: Record) -> Any:
        return self.cursor_value(record)

    def cursor_value(self, record: Record) -> Any:
        """The value of ``record``'s cursor field that the state may advance to (the CDK's: the parsed value)."""
        return self.parse_cursor_value(self.cursor_field.extract_value(record))

    def parse_cursor_value(self, value: Any) -> Any:
        """A record's cursor value parsed the way the manifest says (``cursor_datetime_formats``)."""
        return self._connector_state_converter.parse_value(value)

    def parse_slice_boundary(self, value: Any) -> Any:
        """A slice's start or end value as a datetime."""
        return self._connector_state_converter.parse_timestamp(value)

    @property
    def slice_range(self) -> Any:
        """The longest window ``stream_slices`` cuts (the manifest's ``step``), or None for one window."""
        return self._slice_range

    @slice_range.setter
    def slice_range(self, step: Any) -> None:
        self._slice_range = step

    @property
    def end_provider(self) -> Callable[[], Any]:
        """What gives the end of the range to read (now, or the config's end date), asked on every ``stream_slices``."""
        return self._end_provider

    @end_provider.setter
    def end_provider(self, provider: Callable[[], Any]) -> None:
        self._end_provider = provider

    @property
    def cursor_granularity(self) -> Any:
        """The smallest step of the cursor (``P1D``, ``PT1S``): a window ends one unit before the next starts."""
        return self._cursor_granularity

    @property
    def slice_start_key(self) -> str:
        """The key of a slice's start in ``StreamSlice.cursor_slice`` (``start_time`` unless the manifest names it)."""
        return self._slice_boundary_fields_wrapper[0]

    @property
    def slice_end_key(self) -> str:
        """The key of a slice's end in ``StreamSlice.cursor_slice`` (``end_time`` unless the manifest names it)."""
        return self._slice_boundary_fields_wrapper[1]


class HookedSimpleRetriever(SimpleRetriever):
    """The CDK's ``SimpleRetriever`` that can send a slice's first request alone, and take its answer from elsewhere.

    Built by the CDK and switched to this class by ``HookedComponentFactory.create_simple_retriever`` (no state in
    ``__init__``). ``first_page(slice)`` sends exactly the request ``read_records`` sends first for that slice.
    ``first_page_source`` (set by ``connectors_shared.window_sizing.WindowProbe``), when set, may answer a slice's
    first request with the answer it already has (``take(slice)``), so the probe is not requested twice. While it
    fetches a page, ``reading_stream()`` names its stream on that thread.
    """

    first_page_source: Any = None

    def first_page(self, stream_slice: StreamSlice) -> Optional[requests.Response]:
        return self._fetch_next_page(stream_slice, self._get_initial_next_page_token())

    def _fetch_next_page(
        self,
        stream_slice: StreamSlice,
        next_page_token: Optional[Mapping[str, Any]] = None,
        page_size_override: Optional[int] = None,
    ) -> Optional[requests.Response]:
        flush_record_batch()  # the records of the pages before this one go to the main thread while this one is fetched
        source = self.first_page_source
        if source is not None and page_size_override is None and next_page_token == self._get_initial_next_page_token():
            kept = source.take(stream_slice)
            if kept is not None:
                return kept
        with reading(self.name):
            if page_size_override is None:
                return super()._fetch_next_page(stream_slice, next_page_token)
            return super()._fetch_next_page(stream_slice, next_page_token, page_size_override)


# --- record_selection (speed) --------------------------------------------------------------------------------------


def record_selection_problem() -> Optional[str]:
    select = RecordSelector.select_records
    if _parameters(select) != ["self", "response", "stream_state", "records_schema", "stream_slice", "next_page_token"]:
        return f"RecordSelector.select_records now takes {_parameters(select)}"
    if not _uses(select, "_extract_and_count", "filter_and_transform"):
        return "RecordSelector.select_records no longer extracts, then filters and transforms"
    if not isinstance(getattr(_combined_module, "_DroppedEmptyRecord", None), type) or not isinstance(
        getattr(_selector_module, "_EXTRACTED_RECORD_COUNT", None), str
    ):
        return "_DroppedEmptyRecord or _EXTRACTED_RECORD_COUNT is gone"
    if not _uses(RecordSelector._extract_and_count, "_DroppedEmptyRecord", "_EXTRACTED_RECORD_COUNT"):
        return "RecordSelector._extract_and_count no longer drops _DroppedEmptyRecord and counts in _EXTRACTED_RECORD_COUNT"
    if not _uses(RecordSelector.filter_and_transform, "_filter", "_transform", "_normalize_by_schema", "file_uploader"):
        return "RecordSelector.filter_and_transform no longer filters, transforms, normalizes and uploads files"
    if not _uses(RecordSelector._normalize_by_schema, "schema_normalization", "transform"):
        return "RecordSelector._normalize_by_schema no longer calls schema_normalization.transform"
    if getattr(_partition_module, "Mapping", None) not in (typing.Mapping, collections.abc.Mapping):
        return "declarative_partition_generator no longer checks records against typing.Mapping"
    return _no_slots(RecordSelector)


def _install_record_selection() -> bool:
    """Whether selectors may be switched to ``HookedRecordSelector``; the first call, when they may, also points
    the partition's record check at the ABC. Decided once per process."""
    fits = _record_selection.get("fits")
    if fits is None:
        fits = _record_selection["fits"] = record_selection_problem() is None
        if fits:
            # Each record the CDK's partition reads is checked against ``typing.Mapping``, whose check runs Python
            # code in ``typing`` (about 5% of a Wicked Reports read); the ABC it stands for answers the same in C.
            _partition_module.Mapping = collections.abc.Mapping
    return fits


_record_selection: Dict[str, bool] = {}


class HookedRecordSelector(RecordSelector):
    """The CDK's ``RecordSelector`` in one loop per page where a stream has no record filter, transformation or file
    upload (every stream of these connectors): extract, count, copy, normalize and wrap each record as the CDK does,
    without the four generators it chains per record. Anything else takes the CDK's own path."""

    def select_records(
        self,
        response: requests.Response,
        stream_state: Any,
        records_schema: Mapping[str, Any],
        stream_slice: Optional[StreamSlice] = None,
        next_page_token: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Record]:
        if self.record_filter or self.transformations or self.file_uploader:
            yield from super().select_records(response, stream_state, records_schema, stream_slice, next_page_token)
            return
        name, dropped = self.name, _combined_module._DroppedEmptyRecord
        transform = self.schema_normalization.transform if records_schema else None
        count = 0
        for data in self.extractor.extract_records(response):
            count += 1
            if type(data) is not dict and isinstance(data, dropped):
                continue
            if transform is not None:
                data = dict(data)
                transform(data, records_schema)
            yield Record(data=data, stream_name=name, associated_slice=stream_slice)
        setattr(response, _selector_module._EXTRACTED_RECORD_COUNT, count)


_reader_of_thread = threading.local()


@contextlib.contextmanager
def reading(stream: Optional[str]) -> Iterator[None]:
    """Name ``stream`` as the one fetching a page on this thread, for as long as the block runs."""
    outer = getattr(_reader_of_thread, "stream", None)
    _reader_of_thread.stream = stream
    try:
        yield
    finally:
        _reader_of_thread.stream = outer


def reading_stream() -> Optional[str]:
    """The stream whose page this thread is fetching right now (``HookedSimpleRetriever``), or None outside a fetch.

    ``connectors_shared.page_sharing`` asks it to know who reads a kept page: a child stream may be given a copy
    with only the fields it reads, never a stream that reads the whole page."""
    return getattr(_reader_of_thread, "stream", None)


def hashed_slice(slice_class: type, stream_slice: StreamSlice) -> StreamSlice:
    """``stream_slice`` copied as ``slice_class`` (a hash-once ``StreamSlice``); the slice itself if that fails."""
    try:
        return slice_class(
            partition=stream_slice.partition,
            cursor_slice=stream_slice.cursor_slice,
            extra_fields=stream_slice.extra_fields,
        )
    except TypeError:  # the hashed_slices hook's target changed: the stock slice, hashed per record
        return stream_slice


class HookedPartitionCursor(ConcurrentPerPartitionCursor):
    """The CDK's ``ConcurrentPerPartitionCursor`` with two of its fixed choices made switchable.

    Built by the CDK and switched to a subclass (``HookedComponentFactory.partition_cursor_class``), so it adds no
    state in ``__init__``; subclasses set the two class attributes:

    - ``checkpoint_every_window``: the CDK emits a stream's state at most once every 600 s, and at its end. True emits
      it whenever a window (slice) closes, as the unpartitioned cursor does: a sync stopped after an hour resumes from
      its last finished window, not from where it was up to ten minutes before.
    - ``interleave_partitions``: the CDK yields every window of the first partition, then every window of the next.
      True yields them in turns (A1, B1, A2, B2, A3, ...), so that the concurrent workers read several partitions at
      once: where the API's rate limit is per partition (LeadConnector's per location), that multiplies what a sync
      may send. Only for partition routers without parent streams: the partitions are listed before the first
      window is yielded.
    - ``track_global_cursor``: for every record the CDK also parses its cursor value (``strptime`` over each format)
      and serialises its partition to JSON, for the newest value over all partitions (saved as ``state``, where a
      partition first seen starts). False hands each record straight to its partition's cursor (the partition looked
      up once per slice): about 30 µs less per record. For a subclass that saves no such ``state``; once the CDK
      switched to one cursor for all partitions (past 10,000), records go its way again.
    """

    checkpoint_every_window: bool = False
    interleave_partitions: bool = False
    track_global_cursor: bool = True

    @property
    def uses_global_cursor(self) -> bool:
        """Whether the cursor keeps one state for every partition (the CDK switches to it above 10,000 partitions)."""
        return self._use_global_cursor

    def observe(self, record: Record) -> None:
        stream_slice = record.associated_slice
        if self.track_global_cursor or self._use_global_cursor or stream_slice is None:
            super().observe(record)
            return
        # Records arrive page by page from one slice object: remember the last one's partition cursor.
        last = self.__dict__.get("_observed_slice")
        if last is not None and last[0] is stream_slice:
            cursor = last[1]
        else:
            cursor = self._cursor_per_partition[self._to_partition_key(stream_slice.partition)]
            self.__dict__["_observed_slice"] = (stream_slice, cursor)
        self._synced_some_data = True
        cursor.observe(record)

    def partition_windows(self, partition: StreamSlice) -> Any:
        """A context manager in force while ``partition``'s cursor makes its first window (a null one here)."""
        return contextlib.nullcontext()

    def _generate_slices_from_partition(self, partition: StreamSlice, parent_state: Mapping[str, Any]) -> Iterable[StreamSlice]:
        windows = super()._generate_slices_from_partition(partition, parent_state)
        with self.partition_windows(partition):
            first = next(iter(windows), None)
        if first is None:
            return
        yield first
        yield from windows

    def _throttle_state_message(self) -> Optional[float]:
        if self.checkpoint_every_window:
            return time.time()
        return super()._throttle_state_message()

    def stream_slices(self) -> Iterable[StreamSlice]:
        if not self.interleave_partitions:
            yield from super().stream_slices()
            return
        if self._timer.is_running():
            raise RuntimeError("stream_slices has been executed more than once.")
        router = self._partition_router
        partitions = list(router.stream_slices())
        self._timer.start()
        parent_state = router.get_stream_state()
        turns = deque(iter(self._generate_slices_from_partition(partition, parent_state)) for partition in partitions)
        while turns:
            windows = turns.popleft()
            window = next(windows, None)
            if window is not None:
                yield window
                turns.append(windows)


# --- source_state -------------------------------------------------------------------------------------------------


def source_state_problem() -> Optional[str]:
    if not _uses(ConcurrentDeclarativeSource.__init__, "_source_config", "_config"):
        return "ConcurrentDeclarativeSource.__init__ no longer sets self._source_config and self._config"
    return None


def manifest_of(source: ConcurrentDeclarativeSource) -> Mapping[str, Any]:
    """The source's manifest after the CDK resolved its references (``definitions`` included)."""
    try:
        return source._source_config
    except AttributeError as error:
        raise _broken("source_state", str(error)) from error


def config_of(source: Any) -> Optional[Mapping[str, Any]]:
    """The config the source was built with, after the spec's migrations and transformations (None if unknown)."""
    return getattr(source, "_config", None)


# --- session_guard ------------------------------------------------------------------------------------------------


def session_guard_problem() -> Optional[str]:
    send = getattr(requests.Session, "send", None)
    redirect_target = getattr(requests.Session, "get_redirect_target", None)
    if send is None or len(_parameters(send)) < 2:
        return "requests.Session.send(request, **kwargs) is gone or changed"
    if redirect_target is None or len(_parameters(redirect_target)) != 2:
        return "requests.Session.get_redirect_target(response) is gone or changed"
    if not _uses(requests.Session.resolve_redirects, "get_redirect_target"):
        return "requests.Session.resolve_redirects no longer asks get_redirect_target where to go"
    if "_content" not in requests.Response.__attrs__ or "_content_consumed" not in vars(requests.Response()):
        return "requests.Response no longer keeps its body in _content / _content_consumed"
    if not _uses(requests.Response.content, "_content", "_content_consumed"):
        return "requests.Response.content no longer reads _content"
    from urllib3.response import HTTPResponse

    read1 = getattr(HTTPResponse, "read1", None)
    if read1 is None or "decode_content" not in _parameters(read1) or not hasattr(HTTPResponse, "release_conn"):
        return "urllib3's HTTPResponse.read1(amt, decode_content=) or release_conn() is gone"
    return None


def wrap_session(marker: str, wrap_send: Callable[[Any], Any], wrap_redirect_target: Callable[[Any], Any]) -> None:
    """Replace ``requests.Session.send`` and ``get_redirect_target`` with ``wrap_*(original)``, once per process.

    A method already carrying ``marker`` is left alone; one that lost it (a test's ``requests_mock`` put its own in
    place) is wrapped again.
    """
    for name in ("send", "get_redirect_target"):
        if not callable(getattr(requests.Session, name, None)):
            raise _broken("session_guard", f"requests.Session.{name} is gone")
    for name, wrap in (("send", wrap_send), ("get_redirect_target", wrap_redirect_target)):
        current = getattr(requests.Session, name)
        if not getattr(current, marker, False):
            wrapped = wrap(current)
            setattr(wrapped, marker, True)
            setattr(requests.Session, name, wrapped)


def keep_body(response: requests.Response, content: bytes) -> None:
    """Make ``content`` the body of ``response``, read in full already (``response.content`` returns it)."""
    response._content = content
    response._content_consumed = True


# --- cdk_backoff_sleep ----------------------------------------------------------------------------------------------

# The CDK sleeps this much more than a backoff strategy answers ("an extra second to cover any fractions").
CDK_EXTRA_BACKOFF_SECONDS = 1.0
# How the CDK logs each of those waits, whatever the cause of the retry.
CDK_BACKOFF_LOG_PREFIX = "UserDefinedBackoffException: Rate limit exceeded"


def cdk_backoff_sleep_problem() -> Optional[str]:
    from airbyte_cdk.sources.streams.http import rate_limiting

    handler = getattr(rate_limiting, "user_defined_backoff_handler", None)
    if handler is None:
        return "airbyte_cdk.sources.streams.http.rate_limiting.user_defined_backoff_handler is gone"
    source = inspect.getsource(handler)
    if "+ 1" not in source or CDK_BACKOFF_LOG_PREFIX not in source:
        return "user_defined_backoff_handler no longer sleeps backoff + 1 s and logs 'Rate limit exceeded'"
    return None


def cdk_backoff_answer(seconds: float) -> float:
    """What a backoff strategy answers for the CDK to wait ``seconds`` (it adds ``CDK_EXTRA_BACKOFF_SECONDS``)."""
    return max(seconds - CDK_EXTRA_BACKOFF_SECONDS, 0.001)


class QuietCdkBackoffLog(logging.Filter):
    """Drops the CDK's "Rate limit exceeded" line, which it logs for every retry whatever its cause."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(CDK_BACKOFF_LOG_PREFIX)


# --- entrypoint_lines ---------------------------------------------------------------------------------------------

RECORD_LINE_PREFIX = '{"type":"RECORD"'
TRACE_LINE_PREFIX = '{"type":"TRACE"'
# The internal message of the error the CDK raises at the end of a read in which streams failed.
CONCURRENT_READ_FAILURE = "Concurrent read failure"


def entrypoint_lines_problem() -> Optional[str]:
    from airbyte_cdk.entrypoint import AirbyteEntrypoint
    from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, AirbyteTraceMessage, TraceType, Type
    from airbyte_cdk.sources.concurrent_source import concurrent_read_processor

    record = AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(stream="s", data={}, emitted_at=0))
    trace = AirbyteMessage(type=Type.TRACE, trace=AirbyteTraceMessage(type=TraceType.ERROR, emitted_at=0))
    if not AirbyteEntrypoint.airbyte_message_to_string(record).startswith(RECORD_LINE_PREFIX):
        return f"the entrypoint's record lines no longer start {RECORD_LINE_PREFIX}"
    if not AirbyteEntrypoint.airbyte_message_to_string(trace).startswith(TRACE_LINE_PREFIX):
        return f"the entrypoint's trace lines no longer start {TRACE_LINE_PREFIX}"
    if f'"{CONCURRENT_READ_FAILURE}"' not in inspect.getsource(concurrent_read_processor):
        return f"the CDK's concurrent read no longer fails with '{CONCURRENT_READ_FAILURE}'"
    return None


# --- record_batches (speed) ---------------------------------------------------------------------------------------

# The most records a worker gathers before it hands them to the main thread. It hands them over sooner at the end of
# a page (before its next request: records never wait for the network) and at the end of its partition.
RECORD_BATCH_SIZE = 500
# The most records waiting for the main thread, as with the CDK's queue of 10,000 items: a worker that would pass it
# waits, for at most RECORD_BACKLOG_WAIT_SECONDS without the main thread taking a batch.
RECORD_BACKLOG_LIMIT = 10_000
RECORD_BACKLOG_WAIT_SECONDS = 60.0

_record_batch_originals: Dict[str, Any] = {}
_record_batches_on = {"on": False}


class RecordBatch(list):  # type: ignore[type-arg]
    """Records of one partition, handed from a worker to the main thread as one queue item."""

    __slots__ = ()


class RecordLines:
    """Records of one stream written as Airbyte RECORD lines, passed through the entrypoint as one message.

    ``AirbyteEntrypoint.airbyte_message_to_string`` returns ``text`` (the lines, joined by newlines) and
    ``handle_record_counts`` counts ``count`` records for ``stream``, so the per-stream record counts in state
    messages stay exact.
    """

    __slots__ = ("stream", "text", "count")

    def __init__(self, stream: str, text: str, count: int) -> None:
        self.stream, self.text, self.count = stream, text, count


class _Backlog:
    """Records handed to the main thread and not yet taken by it, for one queue."""

    def __init__(self) -> None:
        self._count = 0
        self._condition = threading.Condition()

    def add(self, count: int) -> None:
        with self._condition:
            waited_since = None
            while self._count and self._count + count > RECORD_BACKLOG_LIMIT:
                now = time.monotonic()
                waited_since = waited_since or now
                if now - waited_since >= RECORD_BACKLOG_WAIT_SECONDS:
                    break  # the main thread stopped taking batches: hand over anyway, as the stock queue would block
                self._condition.wait(1.0)
            self._count += count

    def taken(self, count: int) -> None:
        with self._condition:
            self._count -= count
            self._condition.notify_all()


_backlogs: "weakref.WeakKeyDictionary[Any, _Backlog]" = weakref.WeakKeyDictionary()
_backlogs_lock = threading.Lock()
_batch_of_thread = threading.local()


def _backlog(queue: Any) -> _Backlog:
    backlog = _backlogs.get(queue)
    if backlog is None:
        with _backlogs_lock:
            backlog = _backlogs.setdefault(queue, _Backlog())
    return backlog


def record_batches_problem() -> Optional[str]:
    from airbyte_cdk.entrypoint import AirbyteEntrypoint
    from airbyte_cdk.sources.concurrent_source.concurrent_read_processor import ConcurrentReadProcessor
    from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource
    from airbyte_cdk.sources.streams.concurrent.partition_reader import PartitionReader

    process = _record_batch_originals.get("process_partition", PartitionReader.process_partition)
    if _parameters(process) != ["self", "partition", "cursor"]:
        return f"PartitionReader.process_partition now takes {_parameters(process)}"
    if not _uses(process, "_queue", "_partition_logger", "_IS_SUCCESSFUL", "read", "observe", "close_partition"):
        return "PartitionReader.process_partition no longer reads, observes and closes a partition into self._queue"
    handle = _record_batch_originals.get("_handle_item", ConcurrentSource._handle_item)
    if _parameters(handle) != ["self", "queue_item", "concurrent_stream_processor"] or not _uses(handle, "on_record"):
        return "ConcurrentSource._handle_item(queue_item, concurrent_stream_processor) is gone or changed"
    if not _uses(ConcurrentReadProcessor.on_record, "_record_counter", "stream_data_to_airbyte_message"):
        return "ConcurrentReadProcessor.on_record no longer counts records in _record_counter"
    if not _uses(AirbyteEntrypoint.run, "airbyte_message_to_string") or not _uses(
        AirbyteEntrypoint.read, "handle_record_counts"
    ):
        return "AirbyteEntrypoint no longer writes messages with airbyte_message_to_string and handle_record_counts"
    to_string = _record_batch_originals.get("to_string", AirbyteEntrypoint.airbyte_message_to_string)
    counts = _record_batch_originals.get("counts", AirbyteEntrypoint.handle_record_counts)
    if _parameters(to_string) != ["airbyte_message"] or _parameters(counts) != ["message", "stream_message_count"]:
        return "AirbyteEntrypoint.airbyte_message_to_string / handle_record_counts changed their parameters"
    return None


def flush_record_batch() -> None:
    """Hand the records this worker thread has gathered to the main thread now: called before each page request,
    so that no record waits for the network (or the rate limit) in a worker."""
    flush = getattr(_batch_of_thread, "flush", None)
    if flush is not None:
        flush()


def record_batches(on: bool) -> bool:
    """Hand records from the workers to the main thread a page at a time (``on``), or one by one as the CDK does.

    Returns whether batches are on. Connector processes turn them on (``launch_source``); in-process runs (tests
    through ``airbyte_cdk.test``) keep the CDK's path, since their output is captured one message per line. With
    the hook's targets changed (``record_batches_problem``), nothing is switched and the CDK's path runs.
    """
    if on and not _record_batch_originals:
        if record_batches_problem():
            return False
        _install_record_batches()
    _record_batches_on["on"] = bool(on and _record_batch_originals)
    return _record_batches_on["on"]


def _install_record_batches() -> None:
    from airbyte_cdk.entrypoint import AirbyteEntrypoint
    from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource
    from airbyte_cdk.sources.concurrent_source.stream_thread_exception import StreamThreadException
    from airbyte_cdk.sources.connector_state_manager import HashableStreamDescriptor
    from airbyte_cdk.sources.streams.concurrent.partition_reader import PartitionReader
    from airbyte_cdk.sources.streams.concurrent.partitions.types import PartitionCompleteSentinel
    from airbyte_cdk.sources.utils.record_helper import stream_data_to_airbyte_message

    stock_process, stock_handle = PartitionReader.process_partition, ConcurrentSource._handle_item
    stock_to_string, stock_counts = AirbyteEntrypoint.airbyte_message_to_string, AirbyteEntrypoint.handle_record_counts
    on = _record_batches_on

    def process_partition(self: Any, partition: Any, cursor: Any) -> None:
        if not on["on"]:
            return stock_process(self, partition, cursor)
        queue, backlog = self._queue, _backlog(self._queue)
        batch = RecordBatch()

        def flush() -> None:
            nonlocal batch
            if batch:
                handed, batch = batch, RecordBatch()
                backlog.add(len(handed))
                queue.put(handed)

        _batch_of_thread.flush = flush
        try:
            if self._partition_logger:
                self._partition_logger.log(partition)
            observe = cursor.observe
            for record in partition.read():
                batch.append(record)
                observe(record)
                if len(batch) >= RECORD_BATCH_SIZE:
                    flush()
            flush()  # before the state close_partition emits: a state never precedes its records
            cursor.close_partition(partition)
            queue.put(PartitionCompleteSentinel(partition, self._IS_SUCCESSFUL))
        except Exception as error:  # as the CDK's: the records read so far, then the error
            flush()
            queue.put(StreamThreadException(error, partition.stream_name()))
            queue.put(PartitionCompleteSentinel(partition, not self._IS_SUCCESSFUL))
        finally:
            _batch_of_thread.flush = None

    def handle_item(self: Any, queue_item: Any, concurrent_stream_processor: Any) -> Iterable[Any]:
        if type(queue_item) is not RecordBatch:
            return stock_handle(self, queue_item, concurrent_stream_processor)
        _backlog(self._queue).taken(len(queue_item))
        return _batch_messages(queue_item, concurrent_stream_processor)

    def _batch_messages(batch: RecordBatch, processor: Any) -> Iterable[Any]:
        # The first record as the CDK handles it (the stream's RUNNING status, the count), the others as lines.
        yield from processor.on_record(batch[0])
        if len(batch) == 1:
            return
        stream = batch[0].stream_name
        processor._record_counter[stream] += len(batch) - 1
        yield RecordLines(stream, _record_lines(stream, batch, 1), len(batch) - 1)

    def _record_lines(stream: str, batch: RecordBatch, start: int) -> str:
        """Each record as the CDK writes it: ``{"type":"RECORD","record":{"stream":..,"data":..,"emitted_at":..}}``,
        top-level nulls of ``data`` left out (as its serializer does)."""
        head = b'{"type":"RECORD","record":{"stream":' + orjson.dumps(stream) + b',"data":'
        tail = b',"emitted_at":%d}}' % (time.time_ns() // 1_000_000)
        dumps, lines = orjson.dumps, []
        for index in range(start, len(batch)):
            record = batch[index]
            data = record.data
            if record.file_reference is None:
                try:
                    if None in data.values():
                        data = {key: value for key, value in data.items() if value is not None}
                    lines.append(head + dumps(data) + tail)
                    continue
                except (TypeError, AttributeError, orjson.JSONEncodeError):
                    pass
            # The CDK's own way for a file reference, or for what orjson refuses (an integer past 64 bits).
            message = stream_data_to_airbyte_message(stream, record.data, file_reference=record.file_reference)
            lines.append(stock_to_string(message).encode())
        return b"\n".join(lines).decode()

    def airbyte_message_to_string(airbyte_message: Any) -> str:
        if type(airbyte_message) is RecordLines:
            return airbyte_message.text
        return stock_to_string(airbyte_message)

    def handle_record_counts(message: Any, stream_message_count: Any) -> Any:
        if type(message) is RecordLines:
            stream_message_count[HashableStreamDescriptor(name=message.stream, namespace=None)] += message.count
            return message
        return stock_counts(message, stream_message_count)

    _record_batch_originals.update(
        process_partition=stock_process, _handle_item=stock_handle, to_string=stock_to_string, counts=stock_counts
    )
    PartitionReader.process_partition = process_partition
    ConcurrentSource._handle_item = handle_item
    AirbyteEntrypoint.airbyte_message_to_string = staticmethod(airbyte_message_to_string)
    AirbyteEntrypoint.handle_record_counts = staticmethod(handle_record_counts)


# --- test_run_command ---------------------------------------------------------------------------------------------


def test_run_command_problem() -> Optional[str]:
    from airbyte_cdk.test import entrypoint_wrapper

    run = getattr(entrypoint_wrapper, "_run_command", None)
    if run is None or _parameters(run)[:2] != ["source", "args"]:
        return "airbyte_cdk.test.entrypoint_wrapper._run_command(source, args) is gone or changed"
    return None


def run_command(source: Any, args: List[str]) -> Any:
    """Run one connector command in-process and capture its output (an ``EntrypointOutput``); for tests."""
    from airbyte_cdk.test import entrypoint_wrapper

    return entrypoint_wrapper._run_command(source, args)




# --- public contracts relied on -----------------------------------------------------------------------------------


def paginator_contract_problem() -> Optional[str]:
    from airbyte_cdk.sources.declarative.requesters.paginators.default_paginator import DefaultPaginator
    from airbyte_cdk.sources.declarative.requesters.paginators.strategies.pagination_strategy import (
        PaginationStrategy,
    )

    for owner in (PaginationStrategy, DefaultPaginator):
        if "last_page_token_value" not in _parameters(owner.next_page_token):
            return f"{owner.__name__}.next_page_token no longer takes last_page_token_value"
    return None


def config_validation_contract_problem() -> Optional[str]:
    from airbyte_cdk.entrypoint import AirbyteEntrypoint

    for command in ("check", "discover", "read"):
        if not _uses(getattr(AirbyteEntrypoint, command), "validate_connection"):
            return f"AirbyteEntrypoint.{command} no longer validates the config with validate_connection"
    if _parameters(AirbyteEntrypoint.validate_connection) != ["source_spec", "config"]:
        return f"AirbyteEntrypoint.validate_connection now takes {_parameters(AirbyteEntrypoint.validate_connection)}"
    return None


@dataclass(frozen=True)
class Hook:
    name: str
    speed_only: bool  # True: falls back to the stock CDK path when its target is missing
    problem: Callable[[], Optional[str]]


HOOKS: Tuple[Hook, ...] = (
    Hook("serializer_schemas", True, serializer_schemas_problem),
    Hook("factory_class", False, factory_class_problem),
    Hook("custom_cursor", False, custom_cursor_problem),
    Hook("datetime_cursor", False, datetime_cursor_problem),
    Hook("partition_cursor", False, partition_cursor_problem),
    Hook("window_sizing", False, window_sizing_problem),
    Hook("hashed_slices", True, hashed_slices_problem),
    Hook("record_selection", True, record_selection_problem),
    Hook("api_budget", True, api_budget_problem),
    Hook("source_state", False, source_state_problem),
    Hook("session_guard", False, session_guard_problem),
    Hook("cdk_backoff_sleep", False, cdk_backoff_sleep_problem),
    Hook("entrypoint_lines", False, entrypoint_lines_problem),
    Hook("record_batches", True, record_batches_problem),
    Hook("test_run_command", False, test_run_command_problem),
    Hook("paginator_contract", False, paginator_contract_problem),
    Hook("config_validation_contract", False, config_validation_contract_problem),
)


def problems() -> List[Tuple[str, str]]:
    """``(hook, what changed)`` for every hook whose target the installed libraries no longer have."""
    found = []
    for hook in HOOKS:
        problem = hook.problem()
        if problem:
            found.append((hook.name, problem))
    return found
