"""SchemaNormalizer: declared types win, nothing is dropped, unknown fields pass through."""

import json

import pytest

from connectors_shared.normalizer import SchemaNormalizer, _object_steps, compile_steps, to_rfc3339_utc

SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": ["null", "number"]},
        "count": {"type": ["null", "integer"]},
        "live": {"type": ["null", "boolean"]},
        "name": {"type": ["null", "string"]},
        "at": {"type": ["null", "string"], "format": "date-time"},
        "status": {"type": ["null", "string", "number"]},
        "money": {"type": ["null", "object"], "properties": {"cents": {"type": "integer"}}},
        "lines": {"type": ["null", "array"], "items": {"type": "object", "properties": {"qty": {"type": "number"}}}},
        "tags": {"type": ["null", "array"], "items": {"type": "integer"}},
    },
}


def normalize(record, schema=SCHEMA):
    SchemaNormalizer().transform(record, schema)
    return record


@pytest.mark.parametrize(
    "field, raw, expected",
    [
        ("amount", "100", 100), ("amount", "89.99", 89.99), ("amount", 5, 5), ("amount", "n/a", "n/a"),
        ("amount", "", None), ("amount", "nan", "nan"),
        ("count", "3.0", 3), ("count", "2.5", 2.5), ("count", "x", "x"),
        ("live", "false", False), ("live", "TRUE", True), ("live", 1, True), ("live", "maybe", "maybe"),
        ("name", 42, "42"), ("name", "x", "x"),
        ("status", 10, 10), ("status", "On Hold", "On Hold"),
    ],
)
def test_scalars_are_converted_or_kept_as_sent(field, raw, expected):
    assert normalize({field: raw})[field] == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2020-07-15T00:10:17.000Z", "2020-07-15T00:10:17.000Z"),
        ("2020-06-18T02:00:27", "2020-06-18T02:00:27Z"),
        ("2022-11-30T03:25:00.592+00:00", "2022-11-30T03:25:00.592Z"),
        ("2024-01-05T12:00:00+02:00", "2024-01-05T10:00:00Z"),
        ("2024-01-05T12:00:00.5-03:30", "2024-01-05T15:30:00.500000Z"),
        ("2024-01-05", "2024-01-05"),
        ("not a date", "not a date"),
        ("", None),
        (1700000000, "2023-11-14T22:13:20Z"),
        (1700000000000, "2023-11-14T22:13:20Z"),
    ],
)
def test_timestamps_become_rfc3339_utc(raw, expected):
    assert to_rfc3339_utc(raw) == expected


def test_nested_objects_and_arrays_are_normalized_and_unknown_fields_kept():
    record = normalize({"money": {"cents": "123", "currency_iso": "TWD"}, "lines": [{"qty": "2"}, None], "tags": ["1", 2],
                        "extra": {"deep": "1"}})
    assert record == {"money": {"cents": 123, "currency_iso": "TWD"}, "lines": [{"qty": 2}, None], "tags": [1, 2],
                      "extra": {"deep": "1"}}


def test_nulls_and_missing_fields_are_left_alone():
    assert normalize({"amount": None, "unknown": None}) == {"amount": None, "unknown": None}


def test_unexpected_container_types_are_kept():
    assert normalize({"money": "12", "lines": {"qty": "1"}}) == {"money": "12", "lines": {"qty": "1"}}


def test_schema_is_compiled_once_per_schema_object():
    normalizer = SchemaNormalizer()
    normalizer.transform({"amount": "1"}, SCHEMA)
    compiled = normalizer._compiled[id(SCHEMA)]
    normalizer.transform({"amount": "2"}, SCHEMA)
    assert normalizer._compiled[id(SCHEMA)] is compiled


def test_field_names_are_literals_in_the_compiled_code_whatever_they_contain():
    odd = ["it's", 'say "hi"', "back\\slash", "new\nline", "ünïcode", "x = 1; import os", ""]
    schema = {"type": "object", "properties": {name: {"type": "integer"} for name in odd}}
    record = {name: str(index) for index, name in enumerate(odd)}
    SchemaNormalizer().transform(record, schema)
    assert record == {name: index for index, name in enumerate(odd)}


def test_compiled_steps_do_what_the_loop_over_them_does():
    steps = _object_steps(SCHEMA)
    samples = [
        {"amount": "1.5", "count": True, "live": "no", "name": 3.0, "at": "2024-01-05T12:00:00+02:00", "status": 4,
         "money": {"cents": "7"}, "lines": [{"qty": "3"}], "tags": ["5", None], "other": "kept"},
        {"amount": None, "count": "", "live": 0, "name": None, "at": 1700000000, "money": None, "lines": None},
        {},
    ]
    for sample in samples:
        by_loop, compiled = json.loads(json.dumps(sample)), json.loads(json.dumps(sample))
        for field, accepted, convert in steps:
            value = by_loop.get(field)
            if value is not None and type(value) not in accepted:
                by_loop[field] = convert(value)
        compile_steps(steps)(compiled)
        assert compiled == by_loop



def _deep(levels):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"n": {"type": "integer"}, "child": schema}}
    return schema


def _deep_record(levels):
    record = {"n": "0"}
    for level in range(1, levels + 1):
        record = {"n": str(level), "child": record}
    return record


RICH = {
    "type": "object",
    "properties": {
        "grid": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "when": {"type": "array", "items": {"type": "string", "format": "date-time"}},
        "orders": {"type": "array", "items": {"type": "object", "properties": {
            "at": {"type": "string", "format": "date-time"},
            "lines": {"type": "array", "items": {"type": "object", "properties": {"qty": {"type": "integer"}}}},
        }}},
        "deep": _deep(12),  # deeper than MAX_INLINE_DEPTH: the innermost levels are normalized by their converters
    },
}


@pytest.mark.parametrize("sample", [
    {"grid": [["1", 2.5, None], None, "x", ["nan"]], "when": ["2024-01-05T12:00:00+02:00", "2024-01-05T12:00:00.000Z",
                                                          None, 1700000000, "2024-01-05T12:00:00"],
     "orders": [{"at": "2024-01-05T12:00:00", "lines": [{"qty": "3"}, "odd", None]}, None, 7],
     "deep": _deep_record(12)},
    {"grid": "not a list", "when": {}, "orders": {"at": "x"}, "deep": {"n": "1", "child": "leaf"}},
    {"grid": [], "when": [], "orders": [], "deep": None},
])
def test_nested_steps_written_inline_do_what_the_loop_over_the_steps_does(sample):
    steps = _object_steps(RICH)
    by_loop, compiled = json.loads(json.dumps(sample)), json.loads(json.dumps(sample))
    for field, accepted, convert in steps:
        value = by_loop.get(field)
        if value is not None and type(value) not in accepted:
            by_loop[field] = convert(value)
    apply = compile_steps(steps)
    apply(compiled)
    assert compiled == by_loop
    assert "for index_" in apply.source and "convert_" in apply.source


def test_a_record_with_its_declared_types_calls_no_converter():
    calls = []
    steps = _object_steps(RICH)
    apply = compile_steps(steps)
    namespace = apply.__globals__
    for name in [n for n in namespace if n.startswith("convert_")]:
        namespace[name] = lambda value, original=namespace[name]: calls.append(value) or original(value)
    apply({"grid": [[1, 2.5]], "when": ["2024-01-05T12:00:00.000Z"],
           "orders": [{"at": "2024-01-05T10:00:00Z", "lines": [{"qty": 3}]}], "deep": {"n": 1, "child": {"n": 2}}})
    assert calls == []
