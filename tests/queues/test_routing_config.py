"""The routing file: the shipped one, and every error naming its file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from queues.config import (
    DEFAULT_ROUTING_CONFIG,
    HoldSettings,
    RoutingConfigError,
    load_routing_config,
    parse_routing_config,
)
from queues.skills import HOTLINE_PRIORITIES, hotline_policy


def shipped() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_ROUTING_CONFIG.read_text(encoding="utf-8"))


def test_shipped_file_is_the_hotline_policy() -> None:
    config = load_routing_config()
    assert config.policy == hotline_policy()
    for skill in ("inquiry", "complaint", "repair", "lang_yue", "unknown"):
        for flags in ({}, {"open_complaint": True}, {"urgent_or_repeat": True, "callback": True}):
            assert (config.priorities.priority_for(skill, **flags)
                    == HOTLINE_PRIORITIES.priority_for(skill, **flags))
    assert config.hold_for("complaint") == HoldSettings(20, 240, 45)
    assert config.hold_for("not-configured") == HoldSettings()
    assert (config.service_level_s, config.figures_window_s) == (20, 3600)
    assert config.wrap_up_s("complaint") == 60 and config.longest_ring_s == 20


def with_change(path: str, value: object) -> dict[str, Any]:
    data = shipped()
    *parents, key = path.split(".")
    table = data
    for name in parents:
        table = table[name]
    table[key] = value
    return data


@pytest.mark.parametrize(("path", "value", "message"), [
    ("queues.complaint.min_level", 0, "queues.complaint.min_level must be a whole number"),
    ("queues.complaint.announce_every_seconds", 90, "from 30 to 60"),
    ("queues.complaint.ring_timeout_seconds", "20", "ring_timeout_seconds"),
    ("queues.complaint.colour", "red", "unknown keys ['colour']"),
    ("queues.complaint.widening", [{"after_seconds": 60}, {"after_seconds": 30}], "rise"),
    ("queues.complaint.widening", [{"after_seconds": 60, "related": {"complaint": 1}}],
     "related to itself"),
    ("queues.Complaint", {"priority": 1}, "skill names"),
    ("priorities.callback", 5000, "priorities.callback"),
    ("routing.recent_cap", 0, "routing.recent_cap"),
    ("routing.speed", 1, "unknown keys ['speed']"),
    ("queues", {}, "at least one queue"),
])
def test_errors_name_the_key(path: str, value: object, message: str) -> None:
    with pytest.raises(RoutingConfigError) as error:
        parse_routing_config(with_change(path, value), "ops.toml")
    assert str(error.value).startswith("ops.toml") and message in str(error.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(RoutingConfigError, match="cannot read"):
        load_routing_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[queues\n", encoding="utf-8")
    with pytest.raises(RoutingConfigError, match="not valid TOML"):
        load_routing_config(broken)
    latin = tmp_path / "latin.toml"
    latin.write_bytes("# queue d'attente générale\n[queues.inquiry]\n".encode("latin-1"))
    with pytest.raises(RoutingConfigError, match="latin.toml: cannot read routing file"):
        load_routing_config(latin)
    minimal = tmp_path / "minimal.toml"
    minimal.write_text("[queues.inquiry]\n", encoding="utf-8")
    assert load_routing_config(minimal).policy.queue_names == ("inquiry",)
