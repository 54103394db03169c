"""Every TwiML document the service answers with, built from plain values.

Pure functions: prompts, voice settings and absolute URLs in, ``VoiceResponse`` out. No
Flask, no database; the views decide what to say, these decide how Twilio is told.
"""

from __future__ import annotations

from collections.abc import Sequence

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.prompts import Prompt, Voice

MENU_TIMEOUT_SECONDS = 6
KEYED_ENTRY_TIMEOUT_SECONDS = 10
VOICEMAIL_MAX_SECONDS = 120
VOICEMAIL_SILENCE_SECONDS = 5


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
) -> VoiceResponse:
    """A one-key menu; no answer falls through to a Redirect to the same action.

    Twilio continues with the next verb when a Gather times out, so the Redirect is what
    brings a silent caller back to ``decide`` instead of ending the call.
    """
    response = VoiceResponse()
    gather = response.gather(
        action=action_url,
        method="POST",
        num_digits=1,
        timeout=MENU_TIMEOUT_SECONDS,
        **_speech_options(voice, speech),
    )
    for prompt in prompts:
        _speak(gather, prompt, voice)
    response.redirect(action_url, method="POST")
    return response


def keyed_entry(prompts: Sequence[Prompt], voice: Voice, action_url: str) -> VoiceResponse:
    """Several digits ended by '#', for a complaint number or a PIN."""
    response = VoiceResponse()
    gather = response.gather(
        action=action_url,
        method="POST",
        finish_on_key="#",
        timeout=KEYED_ENTRY_TIMEOUT_SECONDS,
        **_speech_options(voice, True),
    )
    for prompt in prompts:
        _speak(gather, prompt, voice)
    response.redirect(action_url, method="POST")
    return response


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


def hold(prompts: Sequence[Prompt], voice: Voice, music_url: str) -> VoiceResponse:
    """One pass of the hold loop (the waitUrl document): an announcement, then music."""
    response = speak(prompts, voice)
    if music_url:
        response.play(music_url)
    else:
        response.pause(length=20)
    return response


def empty() -> VoiceResponse:
    """Nothing to do: the answer to callbacks whose TwiML Twilio ignores."""
    return VoiceResponse()
