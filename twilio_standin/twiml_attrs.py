"""Typed, validated access to TwiML attributes, with Twilio's error codes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

KEYS = set("0123456789*#")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class TwimlError(Exception):
    """A TwiML document Twilio would refuse; ``code`` is Twilio's error code."""

    def __init__(self, message: str, code: int = 12100) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Attrs:
    """Typed, validated access to one element's attributes."""

    def __init__(self, el: ET.Element, where: str, known: Iterable[str],
                 warnings: list[str]) -> None:
        self.el = el
        self.where = where
        known_set = set(known)
        for name in el.attrib:
            if name not in known_set:
                warnings.append(f"{where}: unknown attribute {name!r} ignored (12200)")

    def fail(self, name: str, value: str, expected: str) -> TwimlError:
        return TwimlError(f"{self.where}: attribute {name}={value!r} is invalid, "
                          f"expected {expected}", 12200)

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.el.get(name)
        return default if value is None else value

    def url(self, name: str) -> str | None:
        value = self.el.get(name)
        if value is None:
            return None
        if not value.strip():
            raise self.fail(name, value, "a URL")
        return value.strip()

    def integer(self, name: str, default: int | None, minimum: int = 0,
            maximum: int | None = None) -> int | None:
        value = self.el.get(name)
        if value is None:
            return default
        try:
            number = int(value.strip())
        except ValueError:
            raise self.fail(name, value, "an integer") from None
        if number < minimum or (maximum is not None and number > maximum):
            bound = f"between {minimum} and {maximum}" if maximum else f">= {minimum}"
            raise self.fail(name, value, f"an integer {bound}")
        return number

    def flag(self, name: str, default: bool) -> bool:
        value = self.el.get(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise self.fail(name, value, "true or false")
        return lowered == "true"

    def method(self, name: str, default: str = "POST") -> str:
        value = self.el.get(name)
        if value is None:
            return default
        upper = value.strip().upper()
        if upper not in ("GET", "POST"):
            raise self.fail(name, value, "GET or POST")
        return upper

    def choice(self, name: str, allowed: Iterable[str], default: str) -> str:
        value = self.el.get(name)
        if value is None:
            return default
        options = list(allowed)
        if value.strip() not in options:
            raise self.fail(name, value, "one of " + ", ".join(options))
        return value.strip()

    def events(self, name: str, allowed: Iterable[str], default: Iterable[str]
               ) -> frozenset[str]:
        value = self.el.get(name)
        if value is None:
            return frozenset(default)
        options = set(allowed)
        chosen = value.replace(",", " ").split()
        if not chosen or any(c not in options for c in chosen):
            raise self.fail(name, value, "space-separated values from "
                            + ", ".join(sorted(options)))
        return frozenset(chosen)

    def keys(self, name: str, default: str, *, single: bool) -> str:
        value = self.el.get(name)
        if value is None:
            return default
        if set(value) - KEYS or (single and len(value) > 1):
            what = "one key of 0-9, *, # or empty" if single else "keys from 0-9, *, #"
            raise self.fail(name, value, what)
        return value

    def language(self, name: str) -> str | None:
        value = self.el.get(name)
        if value is not None and not _LANGUAGE.match(value.strip()):
            raise self.fail(name, value, "a language tag such as cmn-CN or en-US")
        return value
