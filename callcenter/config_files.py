"""Reading the TOML files operators edit (prompts, routing): one way, one kind of message."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_toml(source: Path, kind: str, error: type[ValueError]) -> dict[str, Any]:
    """The parsed file; anything wrong with it raises ``error`` naming the file, so that a
    service never starts on a file it cannot read (a missing file, another encoding than
    UTF-8, a TOML mistake)."""
    try:
        return tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{source}: cannot read {kind}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML: {exc}") from None
