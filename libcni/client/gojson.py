"""JSON the way Go's encoding/json writes it, so files we share with Go runtimes diff cleanly.

Go marshals compactly, escapes `<`, `>`, `&`, U+2028 and U+2029, keeps other non-ASCII text as UTF-8,
writes map keys sorted (structs keep field order, which callers give us as dict order), and prints a
float64 that holds an integer without a fraction (every JSON number passes through float64 in Go).
"""

from __future__ import annotations

import json
from typing import Any

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _normalize(value: Any, sort: bool) -> Any:
    if isinstance(value, dict):
        items = sorted(value.items()) if sort else value.items()
        return {str(k): _normalize(v, sort) for k, v in items}
    if isinstance(value, (list, tuple)):
        return [_normalize(v, sort) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def as_go_map(value: Any) -> Any:
    """`value` as Go holds a decoded `map[string]interface{}`: keys sorted at every level, ints as ints."""
    return _normalize(value, True)


def marshal(value: Any, sort_keys: bool = True) -> bytes:
    """`json.Marshal(value)` for a value decoded into Go maps (`sort_keys`) or a struct (dict order)."""
    text = json.dumps(_normalize(value, sort_keys), separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in _ESCAPES.items():
        if raw in text:
            text = text.replace(raw, escaped)
    return text.encode()


def marshal_indent(value: Any) -> str:
    """`json.MarshalIndent(value, "", "    ")` of a struct-shaped dict (as cnitool prints results)."""
    text = json.dumps(_normalize(value, False), indent=4, ensure_ascii=False)
    for raw, escaped in _ESCAPES.items():
        text = text.replace(raw, escaped)
    return text
