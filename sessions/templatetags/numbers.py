"""Numbers that numbers.js rewrites in the reader's locale: the raw value rides along in a
data attribute, the text is a plain rendering for readers without JavaScript."""

from decimal import Decimal

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def usd(value: Decimal | float | None) -> str:
    """`<span data-usd="1234.5000">$1234.5000</span>`; nothing for None."""
    if value is None:
        return ""
    raw = f"{Decimal(str(value)):.4f}"
    return format_html('<span data-usd="{}">${}</span>', raw, raw)


@register.simple_tag
def count(value: int | None) -> str:
    """`<span data-number="12345">12345</span>`; nothing for None."""
    if value is None:
        return ""
    return format_html('<span data-number="{}">{}</span>', int(value), int(value))
