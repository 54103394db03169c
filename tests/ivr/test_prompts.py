"""The prompts file: operators' mistakes are named, not crashes on a live call."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.prompts import DEFAULT_PROMPTS, PromptsError, load_prompts


def test_shipped_prompts_load_and_fill_placeholders() -> None:
    prompts = load_prompts()
    assert prompts.voice.language == "cmn-CN"
    assert prompts.get("queue_position", position=3).text == "您当前排在第3位，请耐心等候。"
    assert prompts.get("queue_position").text.count("{position}") == 1  # left visible
    assert prompts.skill_name("complaint") == "投诉受理"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prompts.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_prompt_is_named(tmp_path: Path) -> None:
    text = DEFAULT_PROMPTS.read_text(encoding="utf-8").replace("\ngoodbye = ", "\nbye = ")
    with pytest.raises(PromptsError, match="prompts.goodbye is missing"):
        load_prompts(_write(tmp_path, text))


def test_audio_prompt_is_played(tmp_path: Path) -> None:
    text = DEFAULT_PROMPTS.read_text(encoding="utf-8").replace(
        'welcome = "您好', 'welcome = { audio = "https://cdn.example/welcome.wav" }\nx = "')
    prompts = load_prompts(_write(tmp_path, text))
    assert prompts.get("welcome").audio_url == "https://cdn.example/welcome.wav"


@pytest.mark.parametrize(("text", "message"), [
    ("[voice\n", "not valid TOML"),
    ("[prompts]\nwelcome='x'\n", r"\[voice\] table is missing"),
])
def test_broken_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PromptsError, match=message):
        load_prompts(_write(tmp_path, text))


def test_broken_placeholder_and_wrong_type(tmp_path: Path) -> None:
    base = DEFAULT_PROMPTS.read_text(encoding="utf-8")
    with pytest.raises(PromptsError, match="prompts.goodbye has a broken"):
        load_prompts(_write(tmp_path, base.replace('goodbye = "感谢', 'goodbye = "{感谢')))
    with pytest.raises(PromptsError, match="prompts.goodbye must be text"):
        load_prompts(_write(tmp_path, base.replace('goodbye = "感谢您的来电，再见。"',
                                                   "goodbye = 42")))
    with pytest.raises(PromptsError, match="cannot read"):
        load_prompts(tmp_path / "absent.toml")
    saved_as_gbk = tmp_path / "gbk.toml"
    saved_as_gbk.write_bytes(base.encode("gbk"))  # an editor's other Chinese encoding
    with pytest.raises(PromptsError, match="gbk.toml: cannot read prompts file"):
        load_prompts(saved_as_gbk)
