"""Reading a TOML file into frozen dataclasses, with errors that name the file, line and key.

``tomllib`` reports no line numbers for values, so ``Locator`` finds the line a key path is
written on. ``SpecReader`` checks each field of a dataclass by its ``spec`` (how it is
written in the file: text, bool, number, a reference to ids defined elsewhere, a duration, a
nested table) and raises ``PolicyError`` for the first thing it cannot use.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from types import MappingProxyType
from typing import Any, NoReturn

from handlers.sla import Duration, Unit

Path_ = tuple[str | int, ...]
CONDITION_FIELDS = ("class", "level", "urgency", "severity", "channel", "complex", "online")


class PolicyError(ValueError):
    """A policy file that cannot be used, located as precisely as the file allows."""

    def __init__(self, source: str, key: str, line: int | None, problem: str) -> None:
        self.source, self.key, self.line, self.problem = source, key, line, problem
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


def spec(kind: str, default: Any = MISSING, *, of: str = "", key: str = "", least: int = 0) -> Any:
    """A field as written in the file: its kind, the ids it refers to, its key if renamed."""
    return field(default=default, metadata={"kind": kind, "of": of, "key": key, "least": least})


@dataclass(frozen=True)
class Condition:
    """Matches when every listed field has one of its listed values; empty matches all."""

    terms: tuple[tuple[str, frozenset[str | bool]], ...] = ()

    def matches(self, facts: Mapping[str, object]) -> bool:
        return all(facts.get(name) in allowed for name, allowed in self.terms)


def format_path(path: Path_) -> str:
    """``("stages", "verify", "name")`` -> ``stages.verify.name``; list indexes in brackets."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class Locator:
    """Finds the line a key path is written on, which tomllib does not report.

    TOML never takes a key back, so the line of a key is the first ``n`` for which the text up
    to line ``n`` (or the first parseable text after it) already holds the key: a binary search
    over prefixes finds it whatever quoting, dotted keys or inline tables were used. A missing
    key is located at its nearest existing parent.
    """

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)
        self._docs: dict[int, dict[str, Any] | None] = {}

    def _holds(self, count: int, path: Path_) -> tuple[bool, int]:
        for upto in range(count, len(self._lines) + 1):
            if upto not in self._docs:
                try:
                    self._docs[upto] = tomllib.loads("".join(self._lines[:upto]))
                except tomllib.TOMLDecodeError:
                    self._docs[upto] = None
            node: Any = self._docs[upto]
            if node is not None:
                for part in path:
                    try:
                        node = node[part]
                    except (KeyError, IndexError, TypeError):
                        return False, upto
                return True, upto
        return False, len(self._lines)

    def line(self, path: Path_, hint: str | None = None) -> int | None:
        """The line of ``path``; ``hint`` (the offending value) narrows a multi-line list."""
        while path and not self._holds(len(self._lines), path)[0]:
            path = path[:-1]
        if not path:
            return None
        low, high = 1, len(self._lines)
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if self._holds(middle, path)[0] else (middle + 1, high)
        for number in range(low, self._holds(low, path)[1] + 1) if hint else ():
            if f'"{hint}"' in self._lines[number - 1] or f"'{hint}'" in self._lines[number - 1]:
                return number
        return low


ABSENT: Any = object()


class SpecReader:
    """Walks a parsed document; every check knows its key path for the error message.

    ``ids`` maps a reference kind (``"roles"``, ``"stages"``...) to the ids a value of that
    kind may take; ``nested`` maps the names used by ``spec("table", of=...)`` to dataclasses;
    ``what`` gives reference kinds a plural in words for messages.
    """

    def __init__(self, data: dict[str, Any], text: str, source: str,
                 nested: Mapping[str, Any], what: Mapping[str, str]) -> None:
        self.data, self.source, self.locator = data, source, Locator(text)
        self.nested, self.what = nested, what
        self.ids: dict[str, list[str]] = {"units": list(Unit)}

    def fail(self, path: Path_, problem: str, hint: str | None = None) -> NoReturn:
        raise PolicyError(self.source, format_path(path), self.locator.line(path, hint), problem)

    def get(self, path: Path_, default: Any = ABSENT) -> Any:
        node: Any = self.data
        for part in path:
            if isinstance(node, dict) and isinstance(part, str) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            elif default is ABSENT:
                self.fail(path, "missing; it is required")
            else:
                return default
        return node

    def typed(self, path: Path_, kind: Any, what: str, default: Any = ABSENT) -> Any:
        value = self.get(path, default)
        if value is default and default is not ABSENT:
            return value
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.fail(path, f"expected {what}, found {type(value).__name__} {value!r}")
        return value

    def table(self, path: Path_, keys: Iterable[str] | None = None, default: Any = ABSENT) -> Any:
        value = self.typed(path, dict, "a table", default)
        if keys is not None and isinstance(value, dict):
            allowed = sorted(keys)
            for key in value:
                if key not in allowed:
                    self.fail((*path, key), f"unknown key; expected one of {', '.join(allowed)}")
        return value

    def texts(self, path: Path_, default: Any = ABSENT) -> tuple[str, ...]:
        value = self.typed(path, list, "a list of strings", default)
        return tuple(self.typed((*path, i), str, "a string") for i in range(len(value)))

    def ref(self, path: Path_, of: str) -> str:
        value: str = self.typed(path, str, "a string")
        if value not in self.ids[of]:
            options = ", ".join(self.ids[of])
            what = self.what.get(of, f"{of} ids")
            self.fail(path, f"expected one of the {what} ({options}), found {value!r}", value)
        return value

    def duration(self, path: Path_, keys_checked: bool = False) -> Duration:
        if not keys_checked:
            self.table(path, ("amount", "unit"))
        amount = self.typed((*path, "amount"), int | float, "a number")
        unit = Unit(self.ref((*path, "unit"), "units"))
        if amount < 0 or (unit.whole and amount != int(amount)):
            whole = "whole " if unit.whole else ""
            self.fail((*path, "amount"), f"expected a {whole}number >= 0 of {unit}, found {amount}")
        return Duration(amount, unit)

    def build(self, cls: Any, path: Path_, **given: Any) -> Any:
        """Read the table at ``path`` into ``cls`` by its fields' specs."""
        specs = {f.metadata["key"] or f.name: f for f in fields(cls) if "kind" in f.metadata}
        inline = any(f.metadata["kind"] == "amount_unit" for f in specs.values())
        self.table(path, [*specs, *(("amount", "unit") if inline else ())])
        values = dict(given)
        for key, field_spec in specs.items():
            default = ABSENT if field_spec.default is MISSING else field_spec.default
            sub = path if field_spec.metadata["kind"] == "amount_unit" else (*path, key)
            if self.get(sub, default) is default and default is not ABSENT:
                values[field_spec.name] = default
            else:
                values[field_spec.name] = self.value(field_spec.metadata, sub)
        return cls(**values)

    def value(self, meta: Mapping[str, Any], path: Path_) -> Any:
        kind, of = meta["kind"], meta["of"]
        if kind == "text":
            return self.typed(path, str, "a string")
        if kind == "bool":
            return self.typed(path, bool, "true or false")
        if kind in ("int", "number"):
            what = "a whole number" if kind == "int" else "a number"
            value = self.typed(path, int if kind == "int" else int | float, what)
            if value < meta["least"]:
                self.fail(path, f"expected {what} >= {meta['least']}, found {value}")
            return value
        if kind == "texts":
            return self.texts(path)
        if kind == "ref":
            return self.ref(path, of)
        if kind == "refs":
            return tuple(self.ref((*path, i), of) for i in range(len(self.texts(path))))
        if kind in ("duration", "amount_unit"):
            return self.duration(path, kind == "amount_unit")
        if kind == "table":
            return self.build(self.nested[of], path)
        if kind == "tables":
            items = self.typed(path, list, "a list of tables")
            return tuple(self.build(self.nested[of], (*path, i)) for i in range(len(items)))
        if kind == "when":
            return self.when(path)
        raise AssertionError(f"unknown field kind {kind!r}")  # pragma: no cover

    def entries(self, path: Path_, cls: Any) -> Mapping[str, Any]:
        table = self.table(path)
        if not table:
            self.fail(path, "expected at least one entry")
        return MappingProxyType({key: self.build(cls, (*path, key), id=key) for key in table})

    def when(self, path: Path_) -> Condition:
        terms = []
        for name, value in self.table(path, CONDITION_FIELDS).items():
            sub: Path_ = (*path, name)
            if name in ("complex", "online"):
                allowed: set[str | bool] = {self.typed(sub, bool, "true or false")}
            elif isinstance(value, list):
                allowed = {self.ref((*sub, i), name) for i in range(len(self.texts(sub)))}
            else:
                allowed = {self.ref(sub, name)}
            terms.append((name, frozenset(allowed)))
        return Condition(tuple(terms))
