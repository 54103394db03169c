"""Pure rules: back-off and give-up timing, retention dates, storage keys, media checks."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from recordings import policy
from recordings.media import InvalidMedia, check_media
from recordings.storage import check_key, storage_key

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_retry_delays_grow_then_stay_at_the_cap() -> None:
    delays = [policy.retry_delay(n).total_seconds() for n in range(1, 12)]
    assert delays == sorted(delays) and delays[0] == policy.RETRY_DELAYS_SECONDS[0]
    assert delays[-1] == delays[-2] == policy.RETRY_DELAYS_SECONDS[-1]
    assert policy.retry_delay(0) == policy.retry_delay(1)
    assert policy.rq_retry_intervals() == list(
        policy.RETRY_DELAYS_SECONDS[:policy.RQ_RETRIES])


def test_failing_downloads_warn_then_give_up_only_after_a_long_time() -> None:
    assert policy.failing_since(NOW, NOW) == "ok"
    assert policy.failing_since(NOW - policy.WARN_AFTER + timedelta(seconds=1), NOW) == "ok"
    assert policy.failing_since(NOW - policy.WARN_AFTER, NOW) == "warn"
    assert policy.failing_since(NOW - policy.GIVE_UP_AFTER + timedelta(seconds=1), NOW) == (
        "warn")
    assert policy.failing_since(NOW - policy.GIVE_UP_AFTER, NOW) == "give_up"
    assert policy.GIVE_UP_AFTER >= timedelta(days=3)


def test_a_download_is_due_after_the_grace_and_never_twice_in_flight() -> None:
    due = NOW - policy.SWEEP_GRACE
    assert policy.download_due(due, None, NOW)
    assert not policy.download_due(due + timedelta(seconds=1), None, NOW)
    assert not policy.download_due(None, None, NOW)
    assert not policy.download_due(due, NOW - timedelta(minutes=5), NOW)
    assert policy.download_due(due, NOW - policy.STALE_AFTER, NOW)
    assert policy.STALE_AFTER > timedelta(seconds=policy.DOWNLOAD_TIMEOUT_SECONDS)


def test_purge_date_is_retention_days_after_archiving() -> None:
    assert policy.purge_after(NOW, 3650) == NOW + timedelta(days=3650)


def test_storage_keys_are_laid_out_by_local_date_and_call() -> None:
    started = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)  # 01:30 the next day in Shanghai
    key = storage_key(started, SHANGHAI, "CA" + "a" * 32, "RE" + "b" * 32, "wav")
    assert key == f"2026/11/24/CA{'a' * 32}/RE{'b' * 32}.wav"
    assert check_key(key) == key


@pytest.mark.parametrize("call_sid,recording_sid,fmt", [
    ("../etc", "RE1", "wav"), ("CA1", "RE1/../../x", "wav"), ("CA1", "RE1", "exe"),
    ("CA 1", "RE1", "wav")])
def test_storage_keys_refuse_anything_but_sids(call_sid: str, recording_sid: str,
                                               fmt: str) -> None:
    with pytest.raises(ValueError):
        storage_key(NOW, SHANGHAI, call_sid, recording_sid, fmt)


@pytest.mark.parametrize("key", ["../../etc/passwd", "/abs/2026/11/23/CA1/RE1.wav",
                                 "2026/11/23/CA1/../RE1.wav", "2026/11/23/CA1/RE1.wav.part"])
def test_foreign_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)


def wav(frames: int, channels: int = 2, declared_extra: int = 0) -> bytes:
    data = frames * channels * 2
    header = (b"RIFF" + struct.pack("<I", 36 + data + declared_extra) + b"WAVE"
              + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, 8000, 8000 * channels * 2,
                                      channels * 2, 16)
              + b"data" + struct.pack("<I", data))
    return header + bytes(data)


def test_a_whole_wav_passes_and_reports_its_channels() -> None:
    body = wav(8000, channels=2)
    info = check_media(body[:4096], len(body), "wav")
    assert (info.media_format, info.channels) == ("wav", 2)


def test_a_truncated_wav_is_refused() -> None:
    body = wav(8000)
    with pytest.raises(InvalidMedia, match="declares"):
        check_media(body[:4096], len(body) // 2, "wav")


@pytest.mark.parametrize("body", [b"", b'{"code": 20404}', b"RIFF\x00\x00\x00\x00WAVE"])
def test_error_pages_and_empty_bodies_are_not_recordings(body: bytes) -> None:
    with pytest.raises(InvalidMedia):
        check_media(body, len(body), "wav")


def test_mp3_needs_an_id3_tag_or_a_frame_header() -> None:
    assert check_media(b"ID3\x04" + bytes(20), 24, "mp3").media_format == "mp3"
    assert check_media(b"\xff\xfb\x90\x00", 4, "mp3").channels is None
    with pytest.raises(InvalidMedia):
        check_media(b"<html>", 6, "mp3")
