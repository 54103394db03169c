"""Every TwiML document the service answers with, built from plain values.

Pure functions: prompts, voice settings and absolute URLs in, ``VoiceResponse`` out. No
Flask, no database; the views decide what to say, these decide how Twilio is told.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.prompts import Prompt, Voice

MENU_TIMEOUT_SECONDS = 6
KEYED_ENTRY_TIMEOUT_SECONDS = 10
VOICEMAIL_MAX_SECONDS = 120
VOICEMAIL_SILENCE_SECONDS = 5

Document = VoiceResponse | str
"""A TwiML answer: built for this request, or rendered once and reused (menus)."""


def _speak(parent: VoiceResponse | Gather, prompt: Prompt, voice: Voice) -> None:
    if prompt.audio_url:
        parent.play(prompt.audio_url)
    elif prompt.text:
        parent.say(prompt.text, voice=voice.voice, language=voice.language)


def speak(prompts: Sequence[Prompt], voice: Voice) -> VoiceResponse:
    response = VoiceResponse()
    for prompt in prompts:
        _speak(response, prompt, voice)
    return response


def menu(
    prompts: Sequence[Prompt], voice: Voice, action_url: str, *, speech: bool = True
) -> str:
    """A one-key menu; no answer falls through to a Redirect to the same action.

    Twilio continues with the next verb when a Gather times out, so the Redirect is what
    brings a silent caller back to ``decide`` instead of ending the call.
    """
    return _gather(tuple(prompts), voice, action_url, speech, 1, "", MENU_TIMEOUT_SECONDS)


def keyed_entry(prompts: Sequence[Prompt], voice: Voice, action_url: str) -> str:
    """Several digits ended by '#', for a complaint number or a PIN."""
    return _gather(tuple(prompts), voice, action_url, True, 0, "#",
                   KEYED_ENTRY_TIMEOUT_SECONDS)


@functools.lru_cache(maxsize=4096)
def _gather(prompts: tuple[Prompt, ...], voice: Voice, action_url: str, speech: bool,
            num_digits: int, finish_on_key: str, timeout: int) -> str:
    """Rendered once per distinct document: a handful of menus answer most webhooks, and
    building the XML costs more than everything else a menu step does."""
    response = VoiceResponse()
    gather = response.gather(
        action=action_url,
        method="POST",
        timeout=timeout,
        **({"num_digits": num_digits} if num_digits else {}),
        **({"finish_on_key": finish_on_key} if finish_on_key else {}),
        **_speech_options(voice, speech),
    )
    for prompt in prompts:
        _speak(gather, prompt, voice)
    response.redirect(action_url, method="POST")
    return str(response)


def _speech_options(voice: Voice, speech: bool) -> dict[str, str]:
    if not speech:
        return {"input": "dtmf"}
    return {
        "input": "dtmf speech",
        "language": voice.speech_language,
        "speech_model": voice.speech_model,
        "hints": voice.hints,
        "speech_timeout": "auto",
    }


def enqueue(
    prompts: Sequence[Prompt], voice: Voice, queue_name: str, wait_url: str, action_url: str
) -> VoiceResponse:
    """Put the caller on hold in the Twilio queue ``queue_name``; ``wait_url`` plays the hold."""
    response = speak(prompts, voice)
    response.enqueue(queue_name, wait_url=wait_url, wait_url_method="POST",
                     action=action_url, method="POST")
    return response


def voicemail(
    prompts: Sequence[Prompt], voice: Voice, action_url: str, recording_status_url: str
) -> VoiceResponse:
    """Record a message: ended by '#', by silence, or by the maximum length."""
    response = speak(prompts, voice)
    response.record(
        action=action_url,
        method="POST",
        max_length=VOICEMAIL_MAX_SECONDS,
        timeout=VOICEMAIL_SILENCE_SECONDS,
        finish_on_key="#",
        play_beep=True,
        trim="trim-silence",
        recording_status_callback=recording_status_url,
        recording_status_callback_method="POST",
        recording_status_callback_event="in-progress completed absent",
    )
    # Reached only if the Record verb ended without calling its action (e.g. no audio).
    response.redirect(action_url, method="POST")
    return response


def speak_and_hang_up(prompts: Sequence[Prompt], voice: Voice) -> VoiceResponse:
    response = speak(prompts, voice)
    response.hangup()
    return response


def speak_and_redirect(prompts: Sequence[Prompt], voice: Voice, url: str) -> VoiceResponse:
    response = speak(prompts, voice)
    response.redirect(url, method="POST")
    return response


HOLD_CHOICE_TIMEOUT_SECONDS = 5
SEAT_NOUNS = ("client", "number", "sip")


def hold_turn(
    prompts: Sequence[Prompt], voice: Voice, music_url: str, music_plays: int, next_url: str,
    *, choice: Sequence[Prompt] = (), choice_url: str = "",
) -> VoiceResponse:
    """One turn of the hold loop (a waitUrl document): announcements, then optionally a
    one-key choice (no key: the caller keeps waiting), music, and back to the loop.

    The Redirect to ``next_url`` (which carries the loop's state) keeps Twilio from
    re-requesting the bare waitUrl; Twilio adds the queue figures (QueueTime...) to it.
    """
    response = speak(prompts, voice)
    if choice:
        gather = response.gather(action=choice_url, method="POST", num_digits=1,
                                 timeout=HOLD_CHOICE_TIMEOUT_SECONDS, input="dtmf")
        for prompt in choice:
            _speak(gather, prompt, voice)
    if music_url:
        response.play(music_url, loop=max(1, music_plays))
    else:
        response.pause(length=20)
    response.redirect(next_url, method="POST")
    return response


def leave_queue() -> VoiceResponse:
    """Leave the hold queue: Twilio then requests the <Enqueue> action (QueueResult=leave)."""
    response = VoiceResponse()
    response.leave()
    return response


def dial_seat(
    kind: str, address: str, *, ring_timeout: int, action_url: str, answered_url: str,
    recording_status_url: str,
) -> VoiceResponse:
    """Ring a seat (``kind`` client, number or sip) and connect the caller when it answers.

    The conversation is recorded from the answer, caller and seat on separate channels.
    The noun's status callback reports the answer at once (``answered_url``); the Dial
    action (``action_url``) runs when the seat hangs up, does not answer within
    ``ring_timeout`` seconds, is busy, or the call fails.
    """
    if kind not in SEAT_NOUNS:
        raise ValueError(f"a seat is dialled as one of {SEAT_NOUNS}, not {kind!r}")
    response = VoiceResponse()
    dial = response.dial(
        action=action_url, method="POST", timeout=ring_timeout,
        record="record-from-answer-dual", recording_status_callback=recording_status_url,
        recording_status_callback_method="POST",
        recording_status_callback_event="in-progress completed absent",
    )
    getattr(dial, kind)(address, status_callback=answered_url, status_callback_method="POST",
                        status_callback_event="answered")
    return response


def empty() -> VoiceResponse:
    """Nothing to do: the answer to callbacks whose TwiML Twilio ignores."""
    return VoiceResponse()
