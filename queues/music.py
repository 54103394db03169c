"""Hold music the service can serve itself when no music file is configured."""

from __future__ import annotations

import io
import math
import struct
import wave
from functools import cache

SAMPLE_RATE = 8000
# A slow, quiet arpeggio (C major): pleasant enough on an 8 kHz phone line.
NOTES_HZ = (261.63, 329.63, 392.00, 523.25, 392.00, 329.63)
NOTE_SECONDS = 0.8


@cache
def hold_music_wav() -> bytes:
    """About five seconds of 8 kHz mono 16-bit PCM; Twilio loops the waitUrl itself."""
    frames = bytearray()
    per_note = int(SAMPLE_RATE * NOTE_SECONDS)
    for frequency in NOTES_HZ:
        for n in range(per_note):
            envelope = min(1.0, n / 400, (per_note - n) / 400)
            sample = 6000 * envelope * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE)
            frames += struct.pack("<h", int(sample))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(frames))
    return buffer.getvalue()
