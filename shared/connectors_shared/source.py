"""The base class and console entrypoint of every connector.

A connector package holds ``manifest.yaml`` (streams, schemas' locations, paging, incremental sync, errors) next to
a three-line subclass::

    class SourceWickedreports(ManifestSource):
        package = "source_wickedreports"

and its ``run()`` calls ``launch_source(SourceWickedreports)``.
"""

from __future__ import annotations

import gc
import json
import sys
import traceback
from datetime import datetime, timezone
from importlib import resources
from typing import Any, ClassVar, List, Mapping, Optional

from airbyte_cdk.entrypoint import AirbyteEntrypoint, launch
from airbyte_cdk.models import (
    AirbyteErrorTraceMessage,
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteStateMessage,
    AirbyteTraceMessage,
    ConfiguredAirbyteCatalog,
    FailureType,
    TraceType,
    Type,
)
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.sources.source import Source
import orjson
import pendulum

from connectors_shared.component_factory import ComponentFactory
from connectors_shared.rate_limiting import HeaderPacedBudget


def _seconds(iso_duration: str) -> float:
    return pendulum.parse(iso_duration).total_seconds()


def budget_from_definition(definition: Mapping[str, Any]) -> HeaderPacedBudget:
    """Build the shared pacer from a manifest's ``api_budget: {type: HTTPAPIBudget, ...}`` block."""
    fallback = 60.0
    for policy in definition.get("policies") or []:
        for rate in policy.get("rates") or []:
            interval = rate.get("interval")
            if interval:
                fallback = _seconds(interval)
        if policy.get("period"):
            fallback = _seconds(policy["period"])
    return HeaderPacedBudget(
        remaining_header=definition.get("ratelimit_remaining_header", "ratelimit-remaining"),
        reset_header=definition.get("ratelimit_reset_header"),
        status_codes_for_ratelimit_hit=definition.get("status_codes_for_ratelimit_hit") or (429,),
        fallback_wait_seconds=fallback,
    )


class ManifestSource(YamlDeclarativeSource):
    """A declarative source whose ``manifest.yaml`` ships inside the connector's Python package.

    Three things differ from ``YamlDeclarativeSource``:

    - the manifest is always the package's own (an unrelated ``manifest.yaml`` in the working directory is ignored);
    - the manifest's ``api_budget`` is served by ``HeaderPacedBudget``, which paces by the vendor's headers;
    - streams are built by ``component_factory`` (``connectors_shared.component_factory.ComponentFactory`` unless a
      connector names a subclass), whose datetime cursors skip two per-record costs of the CDK's.
    """

    package: ClassVar[str]
    component_factory: ClassVar[type[ComponentFactory]] = ComponentFactory

    def __init__(
        self,
        catalog: Optional[ConfiguredAirbyteCatalog] = None,
        config: Optional[Mapping[str, Any]] = None,
        state: Optional[List[AirbyteStateMessage]] = None,
        config_path: Optional[str] = None,
    ) -> None:
        self._budget: Optional[HeaderPacedBudget] = None
        manifest_path = resources.files(self.package).joinpath("manifest.yaml")
        super().__init__(
            path_to_yaml=str(manifest_path), catalog=catalog, config=config, state=state, config_path=config_path
        )
        # The CDK builds its factory inside __init__, wired to the record queue and the state manager; switching the
        # instance's class keeps that wiring. Streams are built later, on demand, by the switched factory.
        self._constructor.__class__ = self.component_factory

    @property
    def budget(self) -> Optional[HeaderPacedBudget]:
        return self._budget

    def _prepare_for_stream_build(self) -> None:
        # Replaces the CDK's version rather than extending it: the CDK would also build its own HTTPAPIBudget, whose
        # rate limiter runs a background thread for the whole sync (about 5% of a read's CPU) only to be discarded.
        if self._spec_component:
            self._spec_component.validate_config(self._config_for_validation)
        definition = self._source_config.get("api_budget")
        if definition:
            if self._budget is None:
                self._budget = budget_from_definition(definition)
            # The factory hands this budget to every HttpRequester it builds from here on.
            self._constructor._api_budget = self._budget


def _config_error(message: str, internal: str) -> str:
    trace = AirbyteMessage(
        type=Type.TRACE,
        trace=AirbyteTraceMessage(
            type=TraceType.ERROR,
            emitted_at=datetime.now(timezone.utc).timestamp() * 1000,
            error=AirbyteErrorTraceMessage(
                message=message, internal_message=internal, stack_trace=internal, failure_type=FailureType.config_error
            ),
        ),
    )
    return orjson.dumps(AirbyteMessageSerializer.dump(trace)).decode()


def build_source(source_class: type[ManifestSource], args: List[str]) -> Source:
    """Read config, catalog and state named on the command line and build the source from them."""
    config_path = AirbyteEntrypoint.extract_config(args)
    catalog_path = AirbyteEntrypoint.extract_catalog(args)
    state_path = AirbyteEntrypoint.extract_state(args)
    config = Source.read_config(config_path) if config_path else None
    catalog = Source.read_catalog(catalog_path) if catalog_path else None
    state = Source.read_state(state_path) if state_path else []
    return source_class(catalog=catalog, config=config, state=state, config_path=config_path)


def launch_source(source_class: type[ManifestSource], args: Optional[List[str]] = None) -> None:
    """Console entrypoint: ``source-x spec|check|discover|read --config ... [--catalog ...] [--state ...]``.

    A config, catalog or state file that cannot be read becomes an Airbyte ``config_error`` trace, not a traceback.
    """
    args = sys.argv[1:] if args is None else args
    try:
        source = build_source(source_class, args)
    except (OSError, ValueError, json.JSONDecodeError) as error:
        print(
            _config_error(
                f"Could not read the files given on the command line: {error}. "
                "Check that --config, --catalog and --state point to readable JSON files.",
                traceback.format_exc(),
            )
        )
        sys.exit(1)
    tune_interpreter()
    launch(source, args)


# Collect the youngest generation after this many new container objects instead of CPython's 700.
GC_YOUNG_THRESHOLD = 50_000
# Let a thread keep the GIL this long (seconds) while others wait for it, instead of CPython's 5 ms.
THREAD_SWITCH_INTERVAL = 0.02


def tune_interpreter() -> None:
    """Tune CPython for a read: the garbage collector (``tune_garbage_collector``), then the GIL's switch interval.

    A read runs the CDK's worker threads (request, parse and normalise a page) beside the main thread (serialise and
    write each record). All of them are CPU-bound between requests, so with CPython's 5 ms the GIL changes hands
    up to 200 times a second, and each hand-off costs a context switch. At 20 ms a Wicked Reports read needs about
    10% less CPU and finishes 10-15% sooner (``tests/benchmark.py``). A thread waiting on the network does not hold
    the GIL, so requests are not delayed.
    """
    tune_garbage_collector()
    sys.setswitchinterval(THREAD_SWITCH_INTERVAL)


def tune_garbage_collector() -> None:
    """Keep CPython's cycle collector from rescanning the same objects thousands of times per sync.

    A read allocates a few dozen dicts and lists per record, so with CPython's defaults a young collection runs every
    few records and a full one every few pages, and a full collection walks every object alive: the CDK's modules and
    models, and the up to 10,000 records waiting in the CDK's queue. That made JSON parsing of a Wicked Reports page
    about twice as slow as the same parse in a small process. Records are freed by reference counting as soon as they
    are written, so collecting less often does not grow memory; what survives start-up is moved out of the
    collector's sight once (``gc.freeze``).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
