"""French typography for every figure a user reads (Word bilan, terminal summary, messages).

Babel holds the rules (decimal comma, narrow no-break space between thousands, no-break space
before « % », month names); this module only fixes the precision the bilan uses.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, parse_pattern

LOCALE = "fr_FR"
NBSP = "\u00a0"


@lru_cache(maxsize=8)
def _percent_pattern(decimals: int):
    # The locale's own percent pattern (with its no-break space) at a fixed precision.
    pattern = parse_pattern(Locale.parse(LOCALE).percent_formats[None].pattern)
    pattern.frac_prec = (decimals, decimals)
    return pattern


# Figures repeat across a bilan (a thousand counts, a few hundred distinct): each is written by
# Babel once (tens of microseconds a call).
@lru_cache(maxsize=4096)
def percent(fraction: float | None, decimals: int = 1, empty: str = "–") -> str:
    """0.25 → « 25,0 % » (no-break space as Babel gives); None → `empty`."""
    if fraction is None:
        return empty
    return _percent_pattern(decimals).apply(fraction, Locale.parse(LOCALE))


def target(percent_value: float | None, empty: str = "–") -> str:
    """A target written in percent in the convention: 25 → « 25 % », 62.5 → « 62,5 % »."""
    if percent_value is None:
        return empty
    decimals = 0 if float(percent_value).is_integer() else 1
    return percent(percent_value / 100, decimals)


@lru_cache(maxsize=4096)
def integer(value: int | float | None, empty: str = "–") -> str:
    """1234 → « 1 234 » with the narrow no-break space of the French locale."""
    if value is None:
        return empty
    return format_decimal(round(value), locale=LOCALE)


def decimal(value: float | None, decimals: int = 1, empty: str = "–") -> str:
    """12.5 → « 12,5 »."""
    if value is None:
        return empty
    return format_decimal(value, format="#,##0." + "0" * decimals, locale=LOCALE)


def euros(value: float | None, empty: str = "–") -> str:
    """7772 → « 7 772 € » (whole euros: thresholds and resources are yearly amounts)."""
    if value is None:
        return empty
    return f"{integer(value)}{NBSP}€"


def points(value: float | None, empty: str = "–") -> str:
    """A gap in percentage points: 5 → « 5 points », -2.5 → « −2,5 points »."""
    if value is None:
        return empty
    text = decimal(value, 0 if float(value).is_integer() else 1)
    return f"{text}{NBSP}point{'s' if abs(value) >= 2 else ''}"


def date(value: dt.date | dt.datetime | None, empty: str = "–") -> str:
    """2020-06-24 → « 24 juin 2020 »; the first of the month is « 1er » (« 1er décembre 2024 »)."""
    if value is None:
        return empty
    if isinstance(value, dt.datetime):
        value = value.date()
    text = format_date(value, format="long", locale=LOCALE)
    # Babel writes « 1 décembre » where French writes « 1er décembre ».
    return "1er" + text[1:] if value.day == 1 and text.startswith("1 ") else text
