"""Whole numbers read from text that callers, Twilio or staff sent.

``str.isdigit()`` alone is not the test: it also accepts '²' and other digits that
``int()`` refuses (a ValueError where a 400 or a re-prompt was meant) or reads as some
other number. Every such check goes through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import overload

ASCII_DIGITS = frozenset("0123456789")
MAX_DIGITS = 19  # any int64; int() of a longer text is slow, and never meant
MAX_ID = 2**62  # the largest id or sequence number we issue in a URL


def is_ascii_number(text: str) -> bool:
    """True for a non-empty run of the digits 0-9, nothing else."""
    return text.isascii() and text.isdigit()


@overload
def whole_number(fields: Mapping[str, str], name: str, maximum: int, default: int) -> int: ...


@overload
def whole_number(fields: Mapping[str, str], name: str, maximum: int,
                 default: None = None) -> int | None: ...


def whole_number(fields: Mapping[str, str], name: str, maximum: int,
                 default: int | None = None) -> int | None:
    """``fields[name]`` as a whole number from 0 to ``maximum``; ``default`` when it is
    missing, not plain digits, or larger."""
    raw = fields.get(name, "")
    if not is_ascii_number(raw) or len(raw) > MAX_DIGITS:
        return default
    value = int(raw)
    return value if value <= maximum else default
