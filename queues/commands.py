"""Command-line commands of the `queues` package, added to `ivr` by `callcenter.cli`."""

from __future__ import annotations

from typing import Any

COMMANDS: list[Any] = []
