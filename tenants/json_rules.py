"""What JSON the service takes in, and how stored JSON is always read back.

Python's json module accepts more than the databases and browsers downstream: NaN and
Infinity (and 1e400, read as infinity), lone surrogates (`"\\udc00"`, not Unicode text, so
not encodable as UTF-8), NUL characters (PostgreSQL refuses `\\u0000` in text and jsonb),
integers of any size, and nesting deep enough to exhaust the interpreter's stack. Each edge
that takes JSON (API bodies, hook posts, WebSocket frames, session metadata, organization
settings) runs `check()` and answers a 400 naming the field and the rule before anything is
written. `SafeJSONField` reads back what older rows hold (written before these rules) in a
form every renderer can serialize.
"""

from __future__ import annotations

import json
import math
import re

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

MAX_DEPTH = 64
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# Characters that are not Unicode scalar values: in a Python str they are always lone.
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
# A number like 1e999 is valid JSON text that Python reads as infinity.
_HUGE_EXPONENT = re.compile(r"\d[eE]\+?\d{3}")


class HostileValue(ValueError):
    """A value no edge may take in; `path` says where (`metadata.tools[2]`), `rule` what."""

    def __init__(self, path: str, rule: str):
        self.path, self.rule = path, rule
        super().__init__(f"{path}: {rule}" if path else rule)

    @property
    def field(self) -> str:
        """The top-level field the value sits in ('' for the body itself)."""
        return re.split(r"[.\[]", self.path, maxsplit=1)[0]


def check(value: object, path: str = "", *, depth: int = 0) -> None:
    """Raise HostileValue for the first value in `value` that cannot be stored or rendered."""
    if depth > MAX_DEPTH:
        raise HostileValue(path, f"nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, str):
        check_text(value, path)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise HostileValue(path, "integers are limited to 64 bits (-2^63 to 2^63-1).")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise HostileValue(path, "NaN and infinite numbers are not JSON numbers.")
    elif isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{printable(str(key))}" if path else printable(str(key))
            check_text(str(key), key_path)
            check(item, key_path, depth=depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check(item, f"{path}[{index}]", depth=depth + 1)


def check_text(text: str, path: str = "") -> None:
    if "\x00" in text:
        raise HostileValue(path, "contains a NUL character (\\u0000), which cannot be stored.")
    surrogate = _SURROGATE.search(text)
    if surrogate:
        code = f"\\u{ord(surrogate.group()):04x}"
        raise HostileValue(path, f"contains a lone surrogate ({code}), which is not Unicode text.")


def printable(text: str) -> str:
    """`text` with NUL and lone surrogates written as escapes: safe to put in an answer."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).replace("\x00", "\\u0000")


def loads(text: str | bytes) -> object:
    """Parse JSON and `check()` it. Raises HostileValue, or ValueError for text that is not
    JSON at all."""
    try:
        # NaN and Infinity parse (as floats) so that check() can say where they were.
        value = json.loads(text)
    except RecursionError:
        raise HostileValue("", f"nested deeper than {MAX_DEPTH} levels.") from None
    check(value)
    return value


def readable(value: object, *, depth: int = 0) -> object:
    """`value` with what no renderer can serialize replaced: lone surrogates by U+FFFD,
    NaN and infinities by null, nesting below MAX_DEPTH by a note."""
    if depth > MAX_DEPTH:
        return f"(nested deeper than {MAX_DEPTH} levels; not shown)"
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {readable(k): readable(v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [readable(item, depth=depth + 1) for item in value]
    return value


def byte_size(value: object) -> int:
    """The size of `value` as compact UTF-8 JSON (what a column holds, near enough)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode(errors="replace"))


def validate_object(value: object, *, field: str, max_bytes: int) -> dict:
    """A JSON object of storable values, at most `max_bytes` of JSON: a ValidationError
    naming `field` otherwise (session metadata, organization settings)."""
    if not isinstance(value, dict):
        raise ValidationError({field: f"{field} is a JSON object."})
    try:
        check(value, field)
    except HostileValue as exc:
        raise ValidationError({field: [str(exc)]}) from None
    if byte_size(value) > max_bytes:
        raise ValidationError({field: f"{field} is limited to {max_bytes} bytes of JSON."})
    return value


class SafeJSONField(models.JSONField):
    """A JSONField whose stored value always reads back renderable, whatever an older row
    holds: a row must never break the pages and answers that list it."""

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": CheckedJSONFormField, **kwargs})

    def deconstruct(self):
        # Only reading differs, never the column: migrations see a plain JSONField.
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str) and not _suspect(value):
            return super().from_db_value(value, expression, connection)
        try:
            loaded = super().from_db_value(value, expression, connection)
        except RecursionError:
            return {"unreadable": f"Stored JSON nested deeper than {MAX_DEPTH} levels."}
        return readable(loaded)


class CheckedJSONFormField(forms.JSONField):
    """The operations console's JSON editor: what `check()` refuses is a form error."""

    def to_python(self, value):
        try:
            parsed = super().to_python(value)
        except RecursionError:
            raise ValidationError(f"Nested deeper than {MAX_DEPTH} levels.") from None
        try:
            check(parsed)
        except HostileValue as exc:
            raise ValidationError(str(exc)) from None
        return parsed

    def bound_data(self, data, initial):
        # A refused value is shown again as it was typed, not re-encoded (which would fail).
        try:
            value = super().bound_data(data, initial)
            check(value)
        except (RecursionError, HostileValue):
            return forms.fields.InvalidJSONInput(data)
        return value


def _suspect(raw: str) -> bool:
    """Whether stored JSON text may hold what `readable()` mends (cheap: no parse)."""
    return (
        "NaN" in raw
        or "Infinity" in raw
        or _ESCAPED_SURROGATE.search(raw) is not None
        or _HUGE_EXPONENT.search(raw) is not None
        or raw.count("[") + raw.count("{") > MAX_DEPTH
    )
