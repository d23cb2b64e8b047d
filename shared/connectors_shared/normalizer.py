"""Bring records to their declared JSON-schema types at close to the cost of a dict copy.

Vendors send numbers and booleans as strings (``"amount": "100"``, ``"liveMode": "false"``), timestamps with
mixed offsets or none at all (``2020-06-18T02:00:27``), and empty strings where they mean null. The CDK's
``TypeTransformer`` fixes the types but walks the schema with a jsonschema validator for every record, which costs
about 3x the throughput of no normalization at all.

``SchemaNormalizer`` compiles each stream schema once into a list of ``(field, accepted_types, convert)`` steps, and
the steps into straight-line Python (``compile_steps``), so a record whose values already have the right types costs
one dict lookup and one type comparison per declared field. Rules:

- ``integer`` / ``number`` fields: numeric strings become numbers (``"100"`` -> ``100``, ``"9.5"`` -> ``9.5``).
- ``boolean`` fields: ``"true"/"false"/"1"/"0"`` (any case) and ``0``/``1`` become booleans.
- ``string`` fields with ``format: date-time``: emitted as RFC 3339 in UTC with a ``Z`` suffix; a value without an
  offset is taken to be UTC (``2020-06-18T02:00:27`` -> ``2020-06-18T02:00:27Z``); ``+02:00`` is converted.
- other ``string`` fields: numbers become their decimal string.
- an empty string in a non-string field becomes ``null``.
- nested objects and arrays of objects are normalized by their own ``properties`` / ``items``.

A value that does not convert is kept exactly as sent: the record is never dropped and the sync never fails because
of a type. Fields the schema does not declare are kept untouched.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import InitVar, dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from airbyte_cdk.sources.declarative.extractors.type_transformer import TypeTransformer

_UTC = _dt.timezone.utc
_TRUE = frozenset({"true", "1", "yes", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "f", "n"})

Converter = Callable[[Any], Any]
Step = Tuple[str, Tuple[type, ...], Converter]


def to_number(value: Any) -> Any:
    """``"100"`` -> ``100``, ``"89.99"`` -> ``89.99``; anything else is returned unchanged."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return value
            # NaN and infinities are not JSON: keep what the vendor sent.
            return number if number == number and number not in (float("inf"), float("-inf")) else value
    return value


def to_integer(value: Any) -> Any:
    """Like `to_number`, and ``"3.0"`` -> ``3``; a fractional value stays a float rather than being truncated."""
    number = to_number(value)
    if isinstance(number, float) and number.is_integer():
        return int(number)
    return number


def to_boolean(value: Any) -> Any:
    """``"false"`` -> ``False``, ``1`` -> ``True``; anything unrecognised is returned unchanged."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if not text:
            return None
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return value


def to_string(value: Any) -> Any:
    """Numbers in a string field become their decimal text; other values are returned unchanged."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def to_rfc3339_utc(value: Any) -> Any:
    """Return ``value`` as an RFC 3339 UTC timestamp (``...Z``); naive values are taken to be UTC.

    Epoch numbers (seconds, or milliseconds when larger than 1e11) are converted too. A string that is not a
    timestamp is returned unchanged.
    """
    if isinstance(value, str):
        length = len(value)
        if length > 19 and value[10] == "T":
            last = value[-1]
            if last == "Z":
                return value  # already UTC: the common case, kept allocation-free
            if value.endswith("+00:00"):
                return value[:-6] + "Z"
        elif length == 19 and value[10] == "T":
            return value + "Z"  # naive second-precision timestamp, e.g. Wicked Reports attribution dates
        elif not value:
            return None
        try:
            parsed = _dt.datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "zZ" else value)
        except ValueError:
            return value
        if length == 10:
            return value  # a plain date is kept as a date
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=_UTC)
        elif parsed.utcoffset():
            parsed = parsed.astimezone(_UTC)
        return parsed.replace(tzinfo=None).isoformat() + "Z"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return _dt.datetime.fromtimestamp(seconds, _UTC).replace(tzinfo=None).isoformat() + "Z"
        except (OverflowError, OSError, ValueError):
            return value
    return value


def _types_of(schema: Mapping[str, Any]) -> List[str]:
    declared = schema.get("type", [])
    if isinstance(declared, str):
        declared = [declared]
    types = [t for t in declared if t != "null"]
    for branch in schema.get("anyOf", []) or schema.get("oneOf", []):
        types.extend(t for t in _types_of(branch) if t not in types)
    return types


def _object_steps(schema: Mapping[str, Any]) -> List[Step]:
    steps: List[Step] = []
    for field, field_schema in (schema.get("properties") or {}).items():
        step = _field_step(field, field_schema)
        if step:
            steps.append(step)
    return steps


def _field_step(field: str, schema: Mapping[str, Any]) -> Optional[Step]:
    types = _types_of(schema)
    if len(types) != 1 and not (set(types) == {"integer", "number"}):
        return None  # a union such as ["string", "number"] accepts what it gets
    kind = types[0] if len(types) == 1 else "number"
    if kind == "string":
        if schema.get("format") == "date-time":
            return field, (), to_rfc3339_utc
        return field, (str,), to_string
    if kind == "integer":
        return field, (int,), to_integer
    if kind == "number":
        return field, (int, float), to_number
    if kind == "boolean":
        return field, (bool,), to_boolean
    if kind == "object":
        nested = _object_steps(schema)
        return (field, (), _object_converter(nested)) if nested else None
    if kind == "array":
        items = schema.get("items")
        if isinstance(items, Mapping):
            item_step = _field_step("", items)
            if item_step:
                return field, (), _array_converter(item_step)
    return None


# Nested objects and arrays deeper than this are normalized by calling their converter rather than written inline.
MAX_INLINE_DEPTH = 8


def compile_steps(steps: List[Step]) -> Callable[[Dict[str, Any]], None]:
    """One function that applies ``steps`` to a record, written out field by field.

    It does what this loop does::

        for field, accepted, convert in steps:
            value = record.get(field)
            if value is not None and type(value) not in accepted:
                record[field] = convert(value)

    unrolled into straight-line code (one ``if`` per field, field names as literals), which halves the cost of a
    record whose values already have their declared types, the common case. The steps of nested objects and of the
    items of arrays are written inline too (a loop over an array, in place), and a date-time already in RFC 3339 UTC
    form is recognised without a call: a Wicked Reports contact or order costs no function call at all when its
    values have their declared types. ``apply.source`` shows the code.
    """
    namespace: Dict[str, Any] = {}
    lines = ["def apply(record):"]
    _emit_object(steps, "record", 1, lines, namespace, [0])
    source = "\n".join(lines)
    exec(compile(source, "<connectors_shared.normalizer>", "exec"), namespace)
    apply = namespace["apply"]
    apply.source = source
    return apply


def _new_name(counter: List[int], prefix: str) -> str:
    counter[0] += 1
    return f"{prefix}_{counter[0]}"


def _emit_object(steps: List[Step], target: str, depth: int, lines: List[str], namespace: Dict[str, Any],
                 counter: List[int]) -> None:
    pad = "    " * depth
    if not steps:
        lines.append(f"{pad}pass")
        return
    get = _new_name(counter, "get")
    lines.append(f"{pad}{get} = {target}.get")
    for field, accepted, convert in steps:
        value = _new_name(counter, "value")
        lines.append(f"{pad}{value} = {get}({field!r})")
        _emit_value(value, f"{target}[{field!r}] = ", accepted, convert, depth, lines, namespace, counter)


def _emit_value(value: str, assign: str, accepted: Tuple[type, ...], convert: Converter, depth: int,
                lines: List[str], namespace: Dict[str, Any], counter: List[int]) -> None:
    """The code that normalizes the local ``value``; ``assign`` (``record['x'] = ``) stores a converted value."""
    pad = "    " * depth
    nested = getattr(convert, "nested_steps", None)
    item_step = getattr(convert, "item_step", None)
    if nested is not None and depth < MAX_INLINE_DEPTH:
        lines.append(f"{pad}if isinstance({value}, dict):")
        _emit_object(nested, value, depth + 1, lines, namespace, counter)
        return
    if item_step is not None and depth < MAX_INLINE_DEPTH:
        _, item_accepted, item_convert = item_step
        index, item = _new_name(counter, "index"), _new_name(counter, "item")
        lines.append(f"{pad}if isinstance({value}, list):")
        lines.append(f"{pad}    for {index}, {item} in enumerate({value}):")
        _emit_value(item, f"{value}[{index}] = ", item_accepted, item_convert, depth + 2, lines, namespace, counter)
        return
    name = _new_name(counter, "convert")
    namespace[name] = convert
    if convert is to_rfc3339_utc:  # its own first test, inline: a string already in UTC "Z" form is kept as it is
        test = (f"{value} is not None and not ({value}.__class__ is str and len({value}) > 19 "
                f"and {value}[10] == 'T' and {value}[-1] == 'Z')")
    elif not accepted:
        test = f"{value} is not None"
    elif len(accepted) == 1:
        kind = _new_name(counter, "type")
        namespace[kind] = accepted[0]
        test = f"{value} is not None and {value}.__class__ is not {kind}"
    else:
        kinds = _new_name(counter, "types")
        namespace[kinds] = accepted
        test = f"{value} is not None and {value}.__class__ not in {kinds}"
    lines += [f"{pad}if {test}:", f"{pad}    {assign}{name}({value})"]


def _object_converter(steps: List[Step]) -> Converter:
    compiled: List[Callable[[Dict[str, Any]], None]] = []  # compiled when first called: usually written inline

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            if not compiled:
                compiled.append(compile_steps(steps))
            compiled[0](value)
        return value

    convert.nested_steps = steps  # type: ignore[attr-defined]  # what compile_steps writes inline
    return convert


def _array_converter(item_step: Step) -> Converter:
    _, accepted, convert_item = item_step

    def convert(value: Any) -> Any:
        if isinstance(value, list):
            return [item if item is None or type(item) in accepted else convert_item(item) for item in value]
        return value

    convert.item_step = item_step  # type: ignore[attr-defined]  # what compile_steps writes inline
    return convert


def compile_schema(schema: Mapping[str, Any]) -> Callable[[Dict[str, Any]], None]:
    """Compile a stream's JSON schema into a function that normalizes one record in place."""
    return compile_steps(_object_steps(schema))


@dataclass
class SchemaNormalizer(TypeTransformer):
    """Schema normalization for a declarative stream (``schema_normalization: {type: CustomSchemaNormalization}``).

    Compiles each schema the CDK hands it once, then normalizes records in place; see the module docstring.
    """

    parameters: InitVar[Optional[Mapping[str, Any]]] = None

    def __post_init__(self, parameters: Optional[Mapping[str, Any]]) -> None:
        # Keyed by id(); the schema itself is kept alongside so the id cannot be reused by another object.
        self._compiled: Dict[int, Tuple[Mapping[str, Any], Callable[[Dict[str, Any]], None]]] = {}

    def transform(self, record: Dict[str, Any], schema: Mapping[str, Any]) -> None:
        entry = self._compiled.get(id(schema))
        if entry is None or entry[0] is not schema:
            entry = (schema, compile_schema(schema))
            self._compiled[id(schema)] = entry
        entry[1](record)
