"""Amounts in the person's locale: grouped thousands, two places (the luma), never a float;
providers by their names in the person's language."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils import numberformat
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.translation import gettext

from payments.models import Provider

register = template.Library()


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        return Decimal(0)


def amount_text(value, places: int = 2) -> str:
    """``1234567.5`` -> ``1,234,567.50`` (en), ``1 234 567,50`` (ru, hy)."""
    return numberformat.format(
        _decimal(value),
        get_format("DECIMAL_SEPARATOR"),
        decimal_pos=places,
        grouping=3,
        thousand_sep=get_format("THOUSAND_SEPARATOR"),
        force_grouping=True,
    )


@register.filter
def amount(value) -> str:
    """An amount for a table cell: the exact value in ``data-amount`` (tests, copy) too."""
    number = _decimal(value).quantize(Decimal("0.01"))
    css = "amount neg" if number < 0 else "amount"
    return format_html(
        '<span class="{}" data-amount="{}">{}</span>', css, number, amount_text(number)
    )


@register.filter
def count(value) -> str:
    return amount_text(value, places=0)


@register.filter
def get(mapping, key):
    if mapping is None:
        return None
    return mapping.get(key)


@register.filter
def provider(code) -> str:
    """A provider's name (``payments.models.Provider``) in the active language; an unknown
    code as it is."""
    try:
        return gettext(Provider(code).label)
    except ValueError:
        return code or ""
