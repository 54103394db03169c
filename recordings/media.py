"""Checks that a downloaded file is a whole recording, not a truncated or foreign body.

Pure functions over the first bytes of a file and its size: a transfer that stopped early
or an error page served with status 200 must never be stored as evidence.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEAD_BYTES = 4096


class InvalidMedia(ValueError):
    """The bytes are not a complete WAV or MP3 recording; the message says why."""


@dataclass(frozen=True)
class MediaInfo:
    media_format: str  # "wav" or "mp3"
    channels: int | None  # from the WAV header; None for MP3


def check_media(head: bytes, size: int, expected_format: str) -> MediaInfo:
    """Check a file of ``size`` bytes starting with ``head`` is a complete recording.

    A WAV must declare, in its RIFF header, exactly the size it has (Twilio writes the
    header after the audio, so a truncated transfer always disagrees with it) and hold a
    ``data`` chunk that fits. An MP3 must start with an ID3 tag or an MPEG frame header.
    """
    if size == 0:
        raise InvalidMedia("the body is empty")
    if expected_format == "wav":
        return _check_wav(head, size)
    if expected_format == "mp3":
        return _check_mp3(head)
    raise InvalidMedia(f"unknown media format {expected_format!r}")


def _check_wav(head: bytes, size: int) -> MediaInfo:
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise InvalidMedia("not a RIFF/WAVE file")
    declared = struct.unpack("<I", head[4:8])[0] + 8
    if declared != size:
        raise InvalidMedia(f"the WAV header declares {declared} bytes but {size} arrived")
    channels: int | None = None
    offset = 12
    while offset + 8 <= len(head):
        chunk_id, chunk_size = head[offset:offset + 4], struct.unpack(
            "<I", head[offset + 4:offset + 8])[0]
        body = offset + 8
        if chunk_id == b"fmt " and body + 4 <= len(head):
            channels = struct.unpack("<H", head[body + 2:body + 4])[0]
        if chunk_id == b"data":
            if body + chunk_size > size:
                raise InvalidMedia(f"the data chunk needs {body + chunk_size} bytes, "
                                   f"the file has {size}")
            if channels is None:
                raise InvalidMedia("no fmt chunk before the data chunk")
            return MediaInfo("wav", channels)
        offset = body + chunk_size + (chunk_size & 1)
    raise InvalidMedia("no data chunk in the first bytes of the WAV file")


def _check_mp3(head: bytes) -> MediaInfo:
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return MediaInfo("mp3", None)
    raise InvalidMedia("not an MP3 file (no ID3 tag, no frame sync)")
