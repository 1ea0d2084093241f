"""JSON as Go's encoding/json reads and writes it, for the signed task.

Reading is strict, as the Go SDK's decoder is: a field an object does not have is
refused, and so is a value of the wrong type (a float for an int, a number out of
range, NaN). Writing produces Go's bytes (field order, omitted empty fields, Go's
float and string formatting), so a task encoded here signs like one the keeper sealed.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Iterable, Mapping

from .errors import Refused

INT64 = (-(1 << 63), (1 << 63) - 1)
UINT64 = (0, (1 << 64) - 1)


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name!r} looking for beginning of value")


def loads(text: str | bytes) -> Any:
    """Parse JSON text, refusing NaN and Infinity, which are not JSON."""
    return json.loads(text, parse_constant=_no_constant)


def where(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def fields(obj: Any, allowed: Iterable[str], path: str) -> Mapping[str, Any]:
    """obj as an object with only the allowed field names (null is an empty one)."""
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise Refused(f"json: cannot unmarshal {kind_of(obj)} into {path or 'the task'}, an object")
    names = set(allowed)
    for name in obj:
        if name not in names:
            raise Refused(f"json: unknown field {json.dumps(name)}")
    return obj


def kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    return {str: "string", list: "array", dict: "object", type(None): "null"}.get(type(value), type(value).__name__)


def integer(obj: Mapping[str, Any], name: str, path: str, bounds: tuple[int, int] = INT64) -> int:
    """An integer field (0 when absent or null)."""
    value = obj.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise Refused(f"json: cannot unmarshal {kind_of(value)} into {where(path, name)} of type "
                      + ("uint64" if bounds == UINT64 else "int"))
    return value


def number(obj: Mapping[str, Any], name: str, path: str) -> float:
    """A float64 field (0 when absent or null)."""
    value = obj.get(name)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Refused(f"json: cannot unmarshal {kind_of(value)} into {where(path, name)} of type float64")
    try:
        return float(value)
    except OverflowError as err:
        raise Refused(f"json: {where(path, name)}: {value} overflows float64") from err


def string(obj: Mapping[str, Any], name: str, path: str) -> str:
    """A string field ("" when absent or null)."""
    value = obj.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Refused(f"json: cannot unmarshal {kind_of(value)} into {where(path, name)} of type string")
    return value


def boolean(obj: Mapping[str, Any], name: str, path: str) -> bool:
    """A bool field (false when absent or null)."""
    value = obj.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Refused(f"json: cannot unmarshal {kind_of(value)} into {where(path, name)} of type bool")
    return value


def dumps(value: Any) -> str:
    """Encode dicts (in their order), lists, strings, bools, ints and floats as Go does."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, dict):
        return "{" + ",".join(quote(k) + ":" + dumps(v) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def format_float(f: float) -> str:
    """A float64 as Go's encoding/json writes it: shortest digits, exponent only when
    tiny or huge, with a one-digit exponent where Go writes one."""
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError(f"json: unsupported value: {f}")
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    if 1e-6 <= abs(f) < 1e21:
        return format(Decimal(repr(f)).normalize(), "f")
    text = repr(f)
    if len(text) >= 4 and text[-4:-1] == "e-0":
        text = text[:-2] + text[-1]  # Go's e-07 is e-7
    return text


def quote(s: str) -> str:
    """A string as Go quotes it: HTML characters and line separators escaped."""
    text = json.dumps(s, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text
