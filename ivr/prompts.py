"""The prompts file: every word the caller hears, spoken by a Mandarin voice or played as audio."""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from callcenter.config_files import read_toml

DEFAULT_PROMPTS = Path(__file__).with_name("prompts.toml")


class PromptsError(ValueError):
    """The prompts file is unreadable or incomplete; the message names the file and key."""


class Prompt(NamedTuple):
    """Either words to speak or the URL of an audio file to play.

    A named tuple rather than a frozen dataclass: rendered menus are cached by their
    prompts, and a tuple's hash costs a fraction of a dataclass's on every menu step.
    """

    text: str = ""
    audio_url: str = ""


class Voice(NamedTuple):
    voice: str
    language: str
    speech_language: str
    speech_model: str
    hints: str


@dataclass(frozen=True)
class Prompts:
    voice: Voice
    prompts: dict[str, Prompt]
    stages: dict[str, str]
    skills: dict[str, str]

    def get(self, key: str, **values: object) -> Prompt:
        """The prompt ``key`` with its ``{placeholders}`` filled from ``values``."""
        prompt = self.prompts[key]
        if prompt.audio_url or not values:
            return prompt
        return Prompt(text=prompt.text.format_map(_Defaulting(values)))

    def stage_text(self, stage: str) -> str:
        return self.stages.get(stage, "正在处理中。")

    def skill_name(self, skill: str) -> str:
        return self.skills.get(skill, skill)


class _Defaulting(dict[str, object]):
    """Leave an unknown placeholder visible rather than failing a live call."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def load_prompts(path: str | Path | None = None) -> Prompts:
    """Read and check a prompts file (default: the one shipped with the service)."""
    source = Path(path) if path else DEFAULT_PROMPTS
    return parse_prompts(read_toml(source, "prompts file", PromptsError), str(source))


@functools.cache
def required_keys() -> frozenset[str]:
    """Every prompt the shipped file defines: an operator's file must define them all."""
    return frozenset(read_toml(DEFAULT_PROMPTS, "prompts file", PromptsError)["prompts"])


def parse_prompts(data: dict[str, Any], source: str) -> Prompts:
    voice_data = _table(data, "voice", source)
    voice = Voice(**{
        name: _string(voice_data, name, f"voice.{name}", source)
        for name in ("voice", "language", "speech_language", "speech_model", "hints")
    })
    raw_prompts = _table(data, "prompts", source)
    prompts: dict[str, Prompt] = {}
    for key in required_keys():
        if key not in raw_prompts:
            raise PromptsError(f"{source}: prompts.{key} is missing")
    for key, value in raw_prompts.items():
        if isinstance(value, str):
            _check_placeholders(value, f"prompts.{key}", source)
            prompts[key] = Prompt(text=value)
        elif isinstance(value, dict) and isinstance(value.get("audio"), str):
            prompts[key] = Prompt(audio_url=value["audio"])
        else:
            raise PromptsError(
                f"{source}: prompts.{key} must be text or {{ audio = \"URL\" }}, got {value!r}"
            )
    stages = {k: _string(_table(data, "stages", source), k, f"stages.{k}", source)
              for k in _table(data, "stages", source)}
    skills = {k: _string(_table(data, "skills", source), k, f"skills.{k}", source)
              for k in _table(data, "skills", source)}
    return Prompts(voice=voice, prompts=prompts, stages=stages, skills=skills)


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise PromptsError(f"{source}: [{key}] table is missing")
    return value


def _string(table: dict[str, Any], key: str, path: str, source: str) -> str:
    value = table.get(key)
    if not isinstance(value, str):
        raise PromptsError(f"{source}: {path} must be text, got {value!r}")
    return value


def _check_placeholders(text: str, path: str, source: str) -> None:
    try:
        list(string.Formatter().parse(text))
    except ValueError as error:
        raise PromptsError(f"{source}: {path} has a broken {{placeholder}}: {error}") from None
