"""Whole numbers read from text: only the digits 0-9, within bounds, never an exception."""

from __future__ import annotations

import pytest

from callcenter.numbers import MAX_DIGITS, is_ascii_number, whole_number


@pytest.mark.parametrize(("text", "expected"), [
    ("0", True), ("0123456789", True), ("", False), ("²", False), ("١٢", False),
    ("1.5", False), ("-1", False), (" 1", False), ("1 ", False), ("一", False), ("１", False),
])
def test_only_the_digits_0_to_9_make_a_number(text: str, expected: bool) -> None:
    assert is_ascii_number(text) is expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("0", 0), ("7", 7), ("99", 99), ("007", 7), ("100", None), ("", None), ("²", None),
    ("٣", None), ("1e2", None), ("-5", None), ("9" * (MAX_DIGITS + 1), None),
])
def test_a_field_is_a_whole_number_within_its_bounds_or_none(
        raw: str, expected: int | None) -> None:
    assert whole_number({"n": raw}, "n", 99) == expected


def test_a_missing_or_bad_field_gives_the_default() -> None:
    assert whole_number({}, "n", 99, 1) == 1
    assert whole_number({"n": "²"}, "n", 99, 1) == 1
    assert whole_number({"n": "0"}, "n", 99, 1) == 0  # a zero is a number, not missing


def test_the_largest_id_is_read() -> None:
    assert whole_number({"n": str(2**62)}, "n", 2**62) == 2**62
    assert whole_number({"n": str(2**62 + 1)}, "n", 2**62) is None
