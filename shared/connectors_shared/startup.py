"""Start-up work the CDK asks of its libraries and never uses, deferred until something asks for it.

Importing ``airbyte_cdk`` builds a ``serpyco_rs.Serializer`` for each Airbyte protocol model. The ``Serializer``
constructor also builds the model's JSON schema, and to document it reads the source code of every protocol class
and parses it with ``ast`` (``attributes_doc``). The CDK never asks a serializer for its schema, yet that work is
about half of the CDK's import time: 0.4-0.8 s on this project's 2-core machine, paid by every ``spec``, ``check``,
``discover`` and ``read``.

``defer_serializer_json_schemas`` makes the schema lazy: a ``Serializer`` builds it on the first
``get_json_schema()`` call, so serialisation and everything else are unchanged. It runs when ``connectors_shared`` is
imported, which every connector does before it imports the CDK. If serpyco_rs changes shape, it does nothing and
``shared/tests/test_startup.py`` fails, rather than anything breaking at run time.
"""

from __future__ import annotations

from typing import Any, Callable


class _DeferredSchema:
    """What a ``Serializer`` holds instead of its JSON schema until it is first asked for it."""

    __slots__ = ("type_info",)

    def __init__(self, type_info: Any) -> None:
        self.type_info = type_info


def defer_serializer_json_schemas() -> bool:
    """Make ``serpyco_rs.Serializer`` build its JSON schema on first use; True once that is in place."""
    try:
        from serpyco_rs import _main
    except ImportError:
        return False
    serializer_class = getattr(_main, "Serializer", None)
    build_schema: Callable[[Any], Any] | None = getattr(_main, "get_json_schema", None)
    if serializer_class is None or build_schema is None:
        return False
    if build_schema is _DeferredSchema:
        return True

    def get_json_schema(self: Any) -> Any:
        schema = self._schema
        if isinstance(schema, _DeferredSchema):
            schema = self._schema = build_schema(schema.type_info)
        return schema

    get_json_schema.__doc__ = serializer_class.get_json_schema.__doc__
    serializer_class.get_json_schema = get_json_schema
    _main.get_json_schema = _DeferredSchema  # what Serializer.__init__ calls: now it only keeps the type
    return True
