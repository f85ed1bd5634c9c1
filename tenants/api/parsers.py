"""The API's JSON body parser: the rules of `tenants.json_rules` at the door of every view."""

from __future__ import annotations

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from .. import json_rules


class CheckedJSONParser(JSONParser):
    """DRF's parser, plus: too deep a body is a 400 (not a RecursionError, a 500), and a
    value no database or browser takes (NUL, lone surrogates, 1e400, 64-bit overflow) is a
    400 naming its field and the rule, before any view or serializer runs."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                f"JSON parse error - nested deeper than {json_rules.MAX_DEPTH} levels."
            ) from None
        try:
            json_rules.check(data)
        except json_rules.HostileValue as exc:
            raise ValidationError({exc.field or "non_field_errors": [str(exc)]}) from None
        return data
