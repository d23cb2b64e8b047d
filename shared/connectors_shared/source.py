"""The base class and console entrypoint of every connector.

A connector package holds ``manifest.yaml`` (streams, schemas' locations, paging, incremental sync, errors) next to
a three-line subclass::

    class SourceWickedreports(ManifestSource):
        package = "source_wickedreports"

and its ``run()`` calls ``launch_source(SourceWickedreports)``.
"""

from __future__ import annotations

import ast
import atexit
import copy
import dataclasses
import gc
import json
import logging
import os
import sys
from datetime import datetime, timezone
from importlib import resources
from typing import Any, ClassVar, Dict, Iterator, List, Mapping, Optional, TextIO, Tuple

from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteErrorTraceMessage,
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteStateMessage,
    AirbyteTraceMessage,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    FailureType,
    Status,
    TraceType,
    Type,
)
from airbyte_cdk.sources.declarative.interpolation.interpolated_boolean import InterpolatedBoolean
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.sources.source import Source
from airbyte_cdk.sources.streams.http.exceptions import BaseBackoffException
from airbyte_cdk.sources.utils.schema_helpers import split_config
from airbyte_cdk.utils.print_buffer import PrintBuffer
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
import orjson
import pendulum

from connectors_shared import cdk_hooks, page_sharing, sync_stop, transport, window_sizing
from connectors_shared.component_factory import ComponentFactory
from connectors_shared.input_checks import (
    RESET_HINT,
    check_config,
    check_config_against_spec,
    check_state,
    datetime_cursors,
    unknown_streams,
)
from connectors_shared.rate_limiting import DEFAULT_MAX_WAIT_SECONDS, HeaderPacedBudget, announces_window_length
from connectors_shared.secret_masking import PROCESS_MASKER, MaskingStream, SecretMasker, secrets_of


def _seconds(iso_duration: str) -> float:
    return pendulum.parse(iso_duration).total_seconds()


def budget_from_definition(
    definition: Mapping[str, Any], max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS, vendor: str = "The API"
) -> HeaderPacedBudget:
    """Build the shared pacer from a manifest's ``api_budget: {type: HTTPAPIBudget, ...}`` block."""
    fallback = 60.0
    for policy in definition.get("policies") or []:
        for rate in policy.get("rates") or []:
            interval = rate.get("interval")
            if interval:
                fallback = _seconds(interval)
        if policy.get("period"):
            fallback = _seconds(policy["period"])
    reset_header = definition.get("ratelimit_reset_header")
    return HeaderPacedBudget(
        remaining_header=definition.get("ratelimit_remaining_header", "ratelimit-remaining"),
        reset_header=reset_header,
        status_codes_for_ratelimit_hit=definition.get("status_codes_for_ratelimit_hit") or (429,),
        fallback_wait_seconds=fallback,
        max_wait_seconds=max_wait_seconds,
        vendor=vendor,
        window_log=announces_window_length(reset_header),
    )


class ManifestSource(YamlDeclarativeSource):
    """A declarative source whose ``manifest.yaml`` ships inside the connector's Python package.

    Three things differ from ``YamlDeclarativeSource``:

    - the manifest is always the package's own (an unrelated ``manifest.yaml`` in the working directory is ignored);
    - the manifest's ``api_budget`` is served by ``HeaderPacedBudget``, which paces by the vendor's headers;
    - streams are built by ``component_factory`` (``connectors_shared.component_factory.ComponentFactory`` unless a
      connector names a subclass), whose datetime cursors skip two per-record costs of the CDK's.

    The CDK offers no public way to do the last two: ``connectors_shared.cdk_hooks`` holds how it is done.
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
        self._files_read: Dict[Tuple[str, str], Any] = {}
        transport.install()
        manifest_path = resources.files(self.package).joinpath("manifest.yaml")
        super().__init__(
            path_to_yaml=str(manifest_path), catalog=catalog, config=config, state=state, config_path=config_path
        )
        # Streams are built later, on demand, by the switched factory; it asks api_budget_for for the manifest's
        # api_budget instead of building the CDK's HTTPAPIBudget.
        factory = cdk_hooks.swap_factory(self, self.component_factory)
        factory.api_budget_provider = self.api_budget_for

    def remember_files(self, config: Optional[Tuple[str, Any]] = None, catalog: Optional[Tuple[str, Any]] = None,
                       state: Optional[Tuple[str, Any]] = None) -> None:
        """Keep what ``(path, content)`` held, so that the entrypoint's own read of that path gets it again.

        The CDK's entrypoint reads --config, --catalog and --state again after the source was built from them. A
        file given as a pipe (``--config <(sed ... config.json)``, as one runs a connector by hand) can be read only
        once: the second read found it empty and failed with "Could not read json file".
        """
        for kind, item in (("config", config), ("catalog", catalog), ("state", state)):
            if item is not None:
                self._files_read[(kind, item[0])] = item[1]

    def read_config(self, config_path: str) -> Any:  # type: ignore[override]
        if ("config", config_path) in self._files_read:
            return copy.deepcopy(self._files_read[("config", config_path)])
        return super().read_config(config_path)

    def read_catalog(self, catalog_path: str) -> ConfiguredAirbyteCatalog:  # type: ignore[override]
        if ("catalog", catalog_path) in self._files_read:
            return copy.deepcopy(self._files_read[("catalog", catalog_path)])
        return super().read_catalog(catalog_path)

    def read_state(self, state_path: str) -> List[AirbyteStateMessage]:  # type: ignore[override]
        if ("state", state_path) in self._files_read:
            return copy.deepcopy(self._files_read[("state", state_path)])
        return super().read_state(state_path)

    @property
    def budget(self) -> Optional[HeaderPacedBudget]:
        """The pacer every requester of this source shares (built with the first streams), or None."""
        return self._budget

    @property
    def manifest(self) -> Mapping[str, Any]:
        """The connector's manifest, references resolved."""
        return cdk_hooks.manifest_of(self)

    @property
    def effective_config(self) -> Optional[Mapping[str, Any]]:
        """The config this source was built with, after the spec's migrations (None when built without one)."""
        return cdk_hooks.config_of(self)

    def api_budget_for(self, definition: Mapping[str, Any], config: Mapping[str, Any]) -> HeaderPacedBudget:
        """The one ``HeaderPacedBudget`` serving the manifest's ``api_budget`` for every stream of this source."""
        if self._budget is None:
            self._budget = budget_from_definition(
                definition,
                max_wait_seconds=float((config or {}).get("max_wait_seconds") or DEFAULT_MAX_WAIT_SECONDS),
                vendor=str(self.manifest.get("spec", {}).get("connection_specification", {}).get("title")
                           or "The API"),
            )
        return self._budget

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Refuse a config no request should be sent with (a ``config_error``), then run ``connection_check``.

        A failed check's message is shown as it was written: the CDK's check passes it through ``repr``, which
        wraps it in quotes (``'Stream orders is not available: ...'``); ``plain_message`` takes them off.
        """
        check_config(self.effective_config or config)
        status = self.connection_check(logger, config)
        if status.status == Status.FAILED and status.message:
            status.message = plain_message(status.message)
        return status

    def connection_check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """The manifest's ``check``; a connector whose check does more overrides this, not ``check``."""
        return super().check(logger, config)

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        """Refuse a config no request should be sent with, as ``check`` and ``read`` do, then discover.

        Without it, a start_date such as 2024-02-30 (which the spec's pattern lets through) failed deep inside the
        CDK as a ``system_error`` with a Python traceback instead of a sentence naming the field.
        """
        check_config(self.effective_config or config)
        return super().discover(logger, config)

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: Optional[List[AirbyteStateMessage]] = None,
    ) -> Iterator[AirbyteMessage]:
        """Check config, saved state and catalog (``connectors_shared.input_checks``), then read as the CDK does."""
        effective_config = self.effective_config or config
        check_config(effective_config)
        check_state(state, datetime_cursors(self.manifest, effective_config))
        try:
            names = [stream.name for stream in self.streams(effective_config)]
        except AirbyteTracedException:
            raise
        except Exception as error:  # noqa: BLE001 - the CDK raises many types for a state it cannot use
            if not state:
                raise
            raise AirbyteTracedException(
                message=(
                    f"The saved state could not be used ({type(error).__name__}: {error}). {RESET_HINT}"
                ),
                internal_message=str(error),
                failure_type=FailureType.config_error,
            ) from error
        missing = unknown_streams([configured.stream.name for configured in catalog.streams], names)
        if missing:
            logger.warning(
                f"The configured catalog names stream(s) this connector does not have: {', '.join(missing)}. They are "
                f"not read. Its streams are: {', '.join(names)}; refresh the source schema in Airbyte (or run "
                "discover again) and select from those."
            )
        named = self.readers_of_endpoints([c.stream.name for c in catalog.streams], effective_config)
        endpoints = self._endpoints_only(named)
        readers: Dict[str, List[str]] = {}
        for _, read in named:
            for endpoint, reader in read:
                readers.setdefault(endpoint, []).append(reader)
        page_sharing.SHARE.share_endpoints(readers)
        window_sizing.begin_sync()
        try:
            yield from super().read(logger, config, self.children_last(catalog, endpoints), state)
        finally:
            window_sizing.end_sync()
            page_sharing.SHARE.share_endpoints({})

    @staticmethod
    def children_last(catalog: ConfiguredAirbyteCatalog,
                      endpoints: List[Tuple[str, List[str]]]) -> ConfiguredAirbyteCatalog:
        """The catalog with each stream whose endpoint an earlier stream reads (a child stream) moved to its end.

        The CDK reads streams in catalog order, as many at once as it has workers. A child read beside its parent
        would hold a worker while it waits for each page the parent fetches; read last, it finds every page kept
        (``page_sharing``) and the workers fetch other streams' pages meanwhile."""
        seen, later = set(), set()
        for name, read in endpoints:
            if read and read[0] in seen:
                later.add(name)
            seen.update(read[:1])
        if not later:
            return catalog
        ordered = [c for c in catalog.streams if c.stream.name not in later]
        ordered += [c for c in catalog.streams if c.stream.name in later]
        return dataclasses.replace(catalog, streams=ordered)

    def endpoints_read(self, selected: List[str], config: Mapping[str, Any]) -> List[Tuple[str, List[str]]]:
        """The endpoints (``$parameters.endpoint``) each of the ``selected`` streams reads, in manifest order: its
        own first, then its partition router's parent stream's (the campaigns whose orders it reads). An endpoint
        two of them read (a child stream and its parent) has each page fetched once (``page_sharing``)."""
        return self._endpoints_only(self.readers_of_endpoints(selected, config))

    @staticmethod
    def _endpoints_only(named: List[Tuple[str, List[Tuple[str, str]]]]) -> List[Tuple[str, List[str]]]:
        """``readers_of_endpoints`` without the readers: ``endpoints_read``."""
        return [(name, [endpoint for endpoint, _ in read]) for name, read in named]

    def readers_of_endpoints(
        self, selected: List[str], config: Mapping[str, Any]
    ) -> List[Tuple[str, List[Tuple[str, str]]]]:
        """``endpoints_read``, each endpoint with the stream that reads it: the selected stream for its own, the
        parent stream for its partition router's (the name its requests are sent under: ``page_sharing``)."""

        def endpoint_of(definition: Any) -> List[Tuple[str, str]]:
            if not isinstance(definition, Mapping):
                return []
            endpoint = (definition.get("$parameters") or {}).get("endpoint")
            reader = str(definition.get("name") or (definition.get("$parameters") or {}).get("name") or "")
            return [(endpoint, reader)] if isinstance(endpoint, str) and "{" not in endpoint else []

        def streams(definitions: Any) -> Iterator[Mapping[str, Any]]:
            for definition in definitions or []:
                if not isinstance(definition, Mapping):
                    continue
                if definition.get("type") == "ConditionalStreams":
                    if InterpolatedBoolean(definition.get("condition", ""), parameters={}).eval(config):
                        yield from streams(definition.get("streams"))
                else:
                    yield definition

        found: List[Tuple[str, List[Tuple[str, str]]]] = []
        for stream in streams(self.resolved_manifest.get("streams")):
            if stream.get("name") not in selected:
                continue
            read = endpoint_of(stream)
            router = (stream.get("retriever") or {}).get("partition_router") or {}
            for parent in (router.get("parent_stream_configs") or []) if isinstance(router, Mapping) else []:
                read += endpoint_of(parent.get("stream") if isinstance(parent, Mapping) else None)
            found.append((stream["name"], read))
        return found


def plain_message(message: str) -> str:
    """``message`` without the Python quoting ``repr`` put around it; anything else unchanged.

    ``"'Stream orders is not available: ...'"`` and ``"Exception('Stream orders ...')"`` both become
    ``"Stream orders is not available: ..."``. Only a string literal, or a call of a bare name on one string literal,
    is unwrapped (read with ``ast``, never evaluated); a message that merely contains quotes is left as it is.
    """
    text = message.strip()
    if not text or text[-1] not in "'\")":
        return message
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError):
        return message
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1 and not node.keywords:
        node = node.args[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return message


class ConnectorEntrypoint(AirbyteEntrypoint):
    """The CDK's entrypoint, validating the config against the spec with messages that name the field in words.

    The CDK's validation answers ``Config validation error: 'lots' is not of type 'integer'`` or ``'2024/01/01' does
    not match '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'``; this one answers ``page_size: 'lots' is not an integer, for example
    1000 (the default).`` and ``start_date: '2024/01/01' is not a date like 2024-01-01 (YYYY-MM-DD).``
    (``connectors_shared.input_checks.check_config_against_spec``). Same schema, same draft, same fields refused.
    """

    @staticmethod
    def validate_connection(source_spec: ConnectorSpecification, config: Mapping[str, Any]) -> None:
        connector_config, _ = split_config(config)  # without the CDK's own _limit / _page_size keys, as the CDK does
        check_config_against_spec(connector_config, source_spec.connectionSpecification)


def _trace_line(error: AirbyteTracedException, with_stack: bool = True) -> str:
    message = error.as_airbyte_message()
    if not with_stack and message.trace and message.trace.error:
        message.trace.error.stack_trace = None
    return orjson.dumps(AirbyteMessageSerializer.dump(message)).decode()


def _config_error(message: str, internal: str) -> str:
    trace = AirbyteMessage(
        type=Type.TRACE,
        trace=AirbyteTraceMessage(
            type=TraceType.ERROR,
            emitted_at=datetime.now(timezone.utc).timestamp() * 1000,
            error=AirbyteErrorTraceMessage(
                message=message, internal_message=internal, stack_trace=None, failure_type=FailureType.config_error
            ),
        ),
    )
    return orjson.dumps(AirbyteMessageSerializer.dump(trace)).decode()


class InputFileError(ValueError):
    """A --config, --catalog or --state file that could not be read, or is not what its flag expects."""


def _read_input(flag: str, path: str, reader: Any) -> Any:
    try:
        return reader(path)
    except (OSError, ValueError) as error:  # json.JSONDecodeError and the CDK's schema errors are ValueErrors
        problem = _state_entry_problem(path) if flag == "--state" else None
        if problem:
            raise InputFileError(f"({flag} {path}): {problem}") from error
        raise InputFileError(f"({flag} {path}): {' '.join(str(error).split()).rstrip('.')}") from error


def _state_entry_problem(path: str) -> Optional[str]:
    """Which stream's entry of a state file that parses as JSON but not as Airbyte state is wrong, and how."""
    try:
        with open(path, encoding="utf-8") as file:
            entries = json.load(file)
    except (OSError, ValueError):
        return None
    for entry in entries if isinstance(entries, list) else []:
        stream = entry.get("stream") if isinstance(entry, dict) else None
        if not isinstance(stream, dict):
            continue
        descriptor = stream.get("stream_descriptor")
        name = descriptor.get("name") if isinstance(descriptor, dict) else None
        value = stream.get("stream_state")
        if name and value is not None and not isinstance(value, dict):
            kind = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
                type(value), "not an object")
            return (
                f"the saved state of stream {name} is {kind}, where an object such as {{\"cursor_field\": value}} "
                f"belongs. {RESET_HINT}"
            )
    return None


def build_source(source_class: type[ManifestSource], args: List[str]) -> Source:
    """Read config, catalog and state named on the command line and build the source from them."""
    config_path = AirbyteEntrypoint.extract_config(args)
    catalog_path = AirbyteEntrypoint.extract_catalog(args)
    state_path = AirbyteEntrypoint.extract_state(args)
    config = _read_input("--config", config_path, Source.read_config) if config_path else None
    catalog = _read_input("--catalog", catalog_path, Source.read_catalog) if catalog_path else None
    state = _read_input("--state", state_path, Source.read_state) if state_path else []
    as_read = copy.deepcopy(
        {"config": (config_path, config) if config_path else None,
         "catalog": (catalog_path, catalog) if catalog_path else None,
         "state": (state_path, state) if state_path else None}
    )
    source = source_class(catalog=catalog, config=config, state=state, config_path=config_path)
    source.remember_files(**as_read)
    return source


# Where the CDK writes a traceback into a log message's own text (its CheckStream: "... Error traceback: \n ...").
_TRACEBACK_MARKERS = ("Error traceback:", "Traceback (most recent call last)")


class _PlainTracedErrors(logging.Filter):
    """Log a traced error (one of ours, with a sentence to act on) without its traceback.

    The CDK logs every stream failure, and every request that ran out of retries, with ``exc_info``; for our errors
    (an ``AirbyteTracedException``, or the CDK's backoff exception carrying our message) the error trace that
    follows already carries the message and the stack trace, so the log line keeps the sentence only. The CDK's
    check also pastes the traceback into the message text itself ("Encountered an error while discovering
    streams. Error: ... Error traceback: ..."); for our errors that part is cut too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, (AirbyteTracedException, BaseBackoffException)):
            text = error.message if isinstance(error, AirbyteTracedException) else str(error)
            shown = record.getMessage()
            for marker in _TRACEBACK_MARKERS:
                shown = shown.split(marker, 1)[0]
            shown = shown.rstrip()
            record.msg = shown if text and text in shown else f"{shown}: {text}"
            record.args = ()
            record.exc_info, record.exc_text = None, None
        return True


def _flush_quietly(stream: MaskingStream) -> None:
    try:
        stream.flush()
    except (OSError, ValueError):  # the reader went away, or (in tests) the captured stream is closed
        pass


def _mask_process_output(masker: SecretMasker) -> TextIO:
    """Route stdout, stderr and every logging handler writing to them through ``masker``; returns the new stdout."""
    original_out, original_err = sys.stdout, sys.stderr
    masked_out, masked_err = MaskingStream(original_out, masker), MaskingStream(original_err, masker)
    for handler in [*logging.getLogger().handlers, *logging.getLogger("airbyte").handlers]:
        stream = getattr(handler, "stream", None)
        if not any(isinstance(f, _PlainTracedErrors) for f in handler.filters):
            handler.addFilter(_PlainTracedErrors())
        # The CDK's console handler writes to its PrintBuffer, which writes to the real stdout: mask before it.
        if stream is original_out or stream is sys.__stdout__ or isinstance(stream, PrintBuffer):
            handler.setStream(masked_out)  # type: ignore[attr-defined]
        elif stream is original_err or stream is sys.__stderr__:
            handler.setStream(masked_err)  # type: ignore[attr-defined]
    sys.stdout, sys.stderr = masked_out, masked_err  # type: ignore[assignment]
    atexit.register(_flush_quietly, masked_err)  # both write in batches: what is pending at exit is written then
    atexit.register(_flush_quietly, masked_out)
    return masked_out  # type: ignore[return-value]


def launch_source(source_class: type[ManifestSource], args: Optional[List[str]] = None) -> None:
    """Console entrypoint: ``source-x spec|check|discover|read --config ... [--catalog ...] [--state ...]``.

    Differs from the CDK's ``launch`` in what reaches the user:

    - every line written to stdout or stderr has the config's secrets masked (``connectors_shared.secret_masking``);
    - a config, catalog or state file that cannot be read is a ``config_error`` trace, not a traceback, and each is
      read once (a pipe such as ``--config <(...)`` works);
    - a config the spec refuses is named field by field in words (``ConnectorEntrypoint``), and a failed check's
      message carries no Python quoting (``plain_message``);
    - a fatal error in a read (a ``config_error``: a refused token, a 404, a refused redirect) ends the sync at once
      with that one error, instead of every other stream sending the same bad request again;
    - when streams failed, the closing error says which and keeps their failure type, instead of the CDK's summary
      (always a ``config_error``, whatever the cause);
    - any other exception becomes one error trace, never a bare traceback.
    """
    args = sys.argv[1:] if args is None else args
    masker = PROCESS_MASKER
    masker.secrets = []  # this run's secrets only (tests launch several sources in one process)
    out = _mask_process_output(masker)
    try:
        source = build_source(source_class, args)
    except (OSError, ValueError, json.JSONDecodeError) as error:
        out.write(
            _config_error(
                f"Could not read the files given on the command line"
                f"{' ' if isinstance(error, InputFileError) else ': '}{error}. "
                "Check that --config, --catalog and --state point to readable JSON files.",
                " ".join(str(error.__cause__ or error).split()),  # what the reader said; no traceback for a file
            )
            + "\n"
        )
        out.flush()
        sys.exit(1)
    config = cdk_hooks.config_of(source)
    try:
        masker.set(secrets_of(source.spec(logging.getLogger("airbyte")).connectionSpecification, config))
    except Exception:  # noqa: BLE001 - a spec that cannot be built fails visibly in the run below
        masker.set(secrets_of(None, config))
    tune_interpreter()
    cdk_hooks.record_batches(True)  # this process writes its records as lines: a page of them at a time
    try:
        code = run_entrypoint(source, args, out)
    finally:
        cdk_hooks.record_batches(False)  # launched in-process (tests): later runs capture one message per line
    if code:
        sys.exit(code)


def run_entrypoint(source: Source, args: List[str], out: TextIO) -> int:
    """Run one command and write its messages to ``out``; returns the process exit code (module docstring above)."""
    entrypoint = ConnectorEntrypoint(source)
    parsed = entrypoint.parse_args(args)
    reading = parsed.command == "read"
    if reading:
        sync_stop.arm()  # once an error stops the sync, the other threads send nothing more
    failures: List[FailureType] = []
    failed_streams: List[str] = []
    write = out.write
    try:
        for message in entrypoint.run(parsed):
            if not message.startswith(cdk_hooks.TRACE_LINE_PREFIX):
                write(message + "\n")
                continue
            parsed_message = orjson.loads(message)
            error = (parsed_message.get("trace") or {}).get("error")
            if error and error.get("failure_type") == "config_error" and error.get("stack_trace"):
                error["stack_trace"] = None  # the user's to fix, not a bug: a stack trace only hides the message
                message = orjson.dumps(parsed_message).decode()
            write(message + "\n")
            if error:
                failures.append(FailureType(error.get("failure_type") or "system_error"))
                stream = (error.get("stream_descriptor") or {}).get("name")
                if stream and stream not in failed_streams:
                    failed_streams.append(stream)
                if reading and (failures[-1] == FailureType.config_error or sync_stop.requested()):
                    # Nothing else this sync sends can succeed with the same config: stop every thread now.
                    out.flush()
                    sys.stderr.flush()
                    os._exit(1)
    except AirbyteTracedException as error:
        if error.internal_message == cdk_hooks.CONCURRENT_READ_FAILURE and failures:
            error = AirbyteTracedException(
                message=(
                    f"The sync did not finish: {len(failed_streams) or 'some'} stream(s) failed"
                    f"{' (' + ', '.join(failed_streams) + ')' if failed_streams else ''}; the errors above say why. Records and state "
                    "up to each failure were kept, so the next sync resumes from there."
                ),
                internal_message=error.message,
                failure_type=failures[0],
            )
            write(_trace_line(error, with_stack=False) + "\n")
        else:
            write(_trace_line(error, with_stack=error.failure_type != FailureType.config_error) + "\n")
        out.flush()
        return 1
    except Exception as error:  # noqa: BLE001 - the last line of defence: one trace, never a bare traceback
        traced = AirbyteTracedException.from_exception(
            error, message=f"The connector stopped on an unexpected error ({type(error).__name__}: {error})."
        )
        write(_trace_line(traced) + "\n")
        out.flush()
        return 1
    out.flush()
    return 0


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
