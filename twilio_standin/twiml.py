"""Strict TwiML parsing: XML in, validated verb objects out.

Validation follows Twilio's rules: the root must be ``<Response>``, verbs and nouns must be
known and correctly nested, attribute values must be of the allowed form.  Anything wrong
raises :class:`TwimlError` naming the verb, attribute and document URL.  Unknown attribute
*names* only produce warnings, as Twilio reports them (12200) without failing the call.
Which verbs a document may use depends on where it runs (a ``waitUrl`` document is more
restricted than a call's own); the engine checks that with :func:`check_allowed`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

from .twiml_attrs import KEYS, Attrs, TwimlError
from .verbs import (
    DIAL_RECORD_VALUES,
    Dial,
    DialTarget,
    Enqueue,
    Gather,
    Hangup,
    Leave,
    Pause,
    Play,
    Record,
    Redirect,
    Reject,
    Say,
    Verb,
)

# Verbs Twilio knows but this stand-in does not play.
UNSUPPORTED_VERBS = {"Connect", "Start", "Stop", "Pay", "Prompt", "Refer", "Echo", "Sms",
                     "Message", "Conference", "Siprec", "Stream", "Transcription"}
SSML_TAGS = {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w",
             "amazon:effect", "amazon:domain"}


@dataclass
class Document:
    """A parsed TwiML document and the (public) URL it came from."""

    verbs: list[Verb]
    url: str | None
    warnings: list[str] = field(default_factory=list)


def parse_document(body: bytes | str, url: str | None) -> Document:
    """Parse and validate a TwiML document (raises :class:`TwimlError`)."""
    where = url or "inline TwiML"
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if not raw.strip():
        raise TwimlError(f"{where}: the response body is empty, not TwiML")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise TwimlError(f"{where}: the response is not valid XML ({exc})") from None
    if root.tag != "Response":
        raise TwimlError(f"{where}: the root element is <{root.tag}>, TwiML needs <Response>")
    warnings: list[str] = []
    if root.attrib:
        warnings.append(f"{where}: <Response> takes no attributes")
    if (root.text or "").strip():
        warnings.append(f"{where}: text directly inside <Response> is ignored")
    verbs = [_parse_verb(child, where, warnings) for child in root]
    return Document(verbs=verbs, url=url, warnings=warnings)


def check_allowed(doc: Document, allowed: frozenset[str], context: str) -> None:
    """Refuse verbs that may not appear in this kind of document."""
    for verb in doc.verbs:
        if verb.name not in allowed:
            raise TwimlError(f"{doc.url or 'inline TwiML'}: <{verb.name}> is not allowed in "
                             f"{context} (allowed: {', '.join(sorted(allowed))})", 12100)


def _text(el: ET.Element) -> str:
    return (el.text or "").strip()


def _no_children(el: ET.Element, where: str) -> None:
    for child in el:
        raise TwimlError(f"{where}: <{child.tag}> cannot be nested in <{el.tag}>")


def _parse_verb(el: ET.Element, doc: str, warnings: list[str]) -> Verb:
    name = el.tag
    where = f"<{name}> in {doc}"
    if name in UNSUPPORTED_VERBS:
        raise TwimlError(f"{where}: <{name}> is a Twilio verb this stand-in does not play")
    parser = _PARSERS.get(name)
    if parser is None:
        raise TwimlError(f"{doc}: unknown TwiML verb <{name}>")
    return parser(el, where, warnings)


def _say(el: ET.Element, where: str, warnings: list[str]) -> Say:
    a = Attrs(el, where, ("voice", "language", "loop"), warnings)
    for child in el.iter():
        if child is not el and child.tag not in SSML_TAGS:
            raise TwimlError(f"{where}: <{child.tag}> cannot be nested in <Say>")
    text = " ".join("".join(el.itertext()).split())
    if not text:
        raise TwimlError(f"{where}: <Say> has no text to say", 13520)
    voice = a.text("voice")
    if voice is not None and not voice.strip():
        raise a.fail("voice", voice, "a voice name")
    return Say(text=text, voice=voice, language=a.language("language"),
               loop=a.integer("loop", 1) or 0)


def _play(el: ET.Element, where: str, warnings: list[str]) -> Play:
    a = Attrs(el, where, ("loop", "digits"), warnings)
    _no_children(el, where)
    digits = a.text("digits")
    if digits is not None and (not digits or set(digits) - (KEYS | {"w", "W"})):
        raise a.fail("digits", digits, "keys 0-9, *, # and w")
    url = _text(el) or None
    if url is None and digits is None:
        raise TwimlError(f"{where}: <Play> needs a URL or a digits attribute", 13230)
    return Play(url=url, loop=a.integer("loop", 1) or 0, digits=digits)


def _pause(el: ET.Element, where: str, warnings: list[str]) -> Pause:
    a = Attrs(el, where, ("length",), warnings)
    _no_children(el, where)
    return Pause(length=a.integer("length", 1) or 0)


GATHER_KNOWN = ("action", "method", "timeout", "numDigits", "finishOnKey", "input",
                "speechTimeout", "speechModel", "hints", "language", "actionOnEmptyResult",
                "partialResultCallback", "partialResultCallbackMethod", "profanityFilter",
                "enhanced", "bargeIn", "debug", "maxSpeechTime")


def _gather(el: ET.Element, where: str, warnings: list[str]) -> Gather:
    a = Attrs(el, where, GATHER_KNOWN, warnings)
    raw_input = a.text("input", "dtmf") or ""
    modes = raw_input.split()
    if not modes or any(m not in ("dtmf", "speech") for m in modes) or len(set(modes)) < len(
            modes):
        raise a.fail("input", raw_input, "dtmf, speech or 'dtmf speech'")
    speech_timeout = a.text("speechTimeout", "auto") or "auto"
    if speech_timeout != "auto":
        speech_timeout = str(a.integer("speechTimeout", None))
    speech_model = a.text("speechModel")
    if speech_model is not None and not speech_model.strip():
        raise a.fail("speechModel", speech_model, "a speech model name")
    for name in ("profanityFilter", "enhanced", "bargeIn", "debug"):
        a.flag(name, False)
    a.url("partialResultCallback")
    a.method("partialResultCallbackMethod")
    a.integer("maxSpeechTime", None, minimum=1)
    children: list[Say | Play | Pause] = []
    for child in el:
        if child.tag not in ("Say", "Play", "Pause"):
            raise TwimlError(f"{where}: <{child.tag}> cannot be nested in <Gather> "
                             "(only Say, Play, Pause)", 13221)
        nested = _PARSERS[child.tag](child, f"<{child.tag}> in {where}", warnings)
        assert isinstance(nested, Say | Play | Pause)
        children.append(nested)
    return Gather(
        action=a.url("action"), method=a.method("method"), timeout=a.integer("timeout", 5) or 0,
        num_digits=a.integer("numDigits", None, minimum=1),
        finish_on_key=a.keys("finishOnKey", "#", single=True), input=frozenset(modes),
        speech_timeout=speech_timeout, speech_model=speech_model, hints=a.text("hints"),
        language=a.language("language"),
        action_on_empty_result=a.flag("actionOnEmptyResult", False), children=children)


RECORD_KNOWN = ("action", "method", "timeout", "finishOnKey", "maxLength", "playBeep", "trim",
                "recordingStatusCallback", "recordingStatusCallbackMethod",
                "recordingStatusCallbackEvent", "transcribe", "transcribeCallback",
                "storageUrl", "storageUrlMethod")
RECORDING_EVENTS = ("in-progress", "completed", "absent")


def _record(el: ET.Element, where: str, warnings: list[str]) -> Record:
    a = Attrs(el, where, RECORD_KNOWN, warnings)
    _no_children(el, where)
    a.flag("transcribe", False)
    a.url("transcribeCallback")
    return Record(
        action=a.url("action"), method=a.method("method"), timeout=a.integer("timeout", 5) or 0,
        max_length=a.integer("maxLength", 3600, minimum=1) or 3600,
        finish_on_key=a.keys("finishOnKey", "1234567890*#", single=False),
        play_beep=a.flag("playBeep", True),
        trim=a.choice("trim", ("trim-silence", "do-not-trim"), "trim-silence"),
        status_callback=a.url("recordingStatusCallback"),
        status_callback_method=a.method("recordingStatusCallbackMethod"),
        status_callback_events=a.events("recordingStatusCallbackEvent", RECORDING_EVENTS,
                                        ("completed",)))


def _redirect(el: ET.Element, where: str, warnings: list[str]) -> Redirect:
    a = Attrs(el, where, ("method",), warnings)
    _no_children(el, where)
    url = _text(el)
    if not url:
        raise TwimlError(f"{where}: <Redirect> needs a URL", 13411)
    return Redirect(url=url, method=a.method("method"))


def _enqueue(el: ET.Element, where: str, warnings: list[str]) -> Enqueue:
    a = Attrs(el, where, ("action", "method", "waitUrl", "waitUrlMethod", "workflowSid",
                           "maxQueueSize"), warnings)
    for child in el:
        if child.tag != "Task":
            raise TwimlError(f"{where}: <{child.tag}> cannot be nested in <Enqueue>")
    name = _text(el)
    if not name and a.text("workflowSid") is None:
        raise TwimlError(f"{where}: <Enqueue> needs a queue name", 13610)
    if len(name) > 64:
        raise TwimlError(f"{where}: queue name is longer than 64 characters", 13610)
    return Enqueue(queue=name or str(a.text("workflowSid")), action=a.url("action"),
                   method=a.method("method"), wait_url=a.url("waitUrl"),
                   wait_url_method=a.method("waitUrlMethod"))


def _leave(el: ET.Element, where: str, warnings: list[str]) -> Leave:
    Attrs(el, where, (), warnings)
    _no_children(el, where)
    return Leave()


def _hangup(el: ET.Element, where: str, warnings: list[str]) -> Hangup:
    Attrs(el, where, (), warnings)
    _no_children(el, where)
    return Hangup()


def _reject(el: ET.Element, where: str, warnings: list[str]) -> Reject:
    a = Attrs(el, where, ("reason",), warnings)
    _no_children(el, where)
    return Reject(reason=a.choice("reason", ("rejected", "busy"), "rejected"))


DIAL_KNOWN = ("action", "method", "timeout", "timeLimit", "callerId", "record",
              "recordingStatusCallback", "recordingStatusCallbackMethod",
              "recordingStatusCallbackEvent", "recordingTrack", "trim", "hangupOnStar",
              "answerOnBridge", "ringTone", "referUrl", "referMethod", "sequential", "events",
              "callReason")
NOUN_KNOWN = {
    "Number": ("url", "method", "statusCallback", "statusCallbackEvent", "statusCallbackMethod",
               "sendDigits", "byoc", "machineDetection", "machineDetectionTimeout",
               "amdStatusCallback", "amdStatusCallbackMethod"),
    "Client": ("url", "method", "statusCallback", "statusCallbackEvent",
               "statusCallbackMethod"),
    "Sip": ("url", "method", "statusCallback", "statusCallbackEvent", "statusCallbackMethod",
            "username", "password", "machineDetection"),
    "Queue": ("url", "method", "reservationSid", "postWorkActivitySid"),
}
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")


def _dial(el: ET.Element, where: str, warnings: list[str]) -> Dial:
    a = Attrs(el, where, DIAL_KNOWN, warnings)
    record = a.choice("record", DIAL_RECORD_VALUES, "do-not-record")
    a.flag("hangupOnStar", False)
    a.flag("answerOnBridge", False)
    a.choice("recordingTrack", ("both", "inbound", "outbound"), "both")
    targets: list[DialTarget] = []
    for child in el:
        if child.tag in ("Conference", "Application", "Sim", "WhatsApp"):
            raise TwimlError(f"{where}: <Dial><{child.tag}> is not played by this stand-in")
        if child.tag not in NOUN_KNOWN:
            raise TwimlError(f"{where}: <{child.tag}> is not a <Dial> noun "
                             "(Client, Number, Sip, Queue)", 13214)
        targets.append(_noun(child, f"<{child.tag}> in {where}", warnings))
    number = _text(el)
    if number and targets:
        raise TwimlError(f"{where}: <Dial> has both a number and nested nouns")
    if number:
        targets.append(DialTarget(kind="number", address=number))
    if not targets:
        raise TwimlError(f"{where}: <Dial> has nothing to dial", 13212)
    if any(t.kind == "queue" for t in targets) and len(targets) > 1:
        raise TwimlError(f"{where}: <Queue> must be the only noun in its <Dial>")
    return Dial(
        action=a.url("action"), method=a.method("method"),
        timeout=a.integer("timeout", 30, minimum=1, maximum=600) or 30,
        time_limit=a.integer("timeLimit", 14400, minimum=1) or 14400, caller_id=a.text("callerId"),
        record=record, trim=a.choice("trim", ("trim-silence", "do-not-trim"), "do-not-trim"),
        status_callback=a.url("recordingStatusCallback"),
        status_callback_method=a.method("recordingStatusCallbackMethod"),
        status_callback_events=a.events("recordingStatusCallbackEvent", RECORDING_EVENTS,
                                        ("completed",)),
        targets=targets)


def _noun(el: ET.Element, where: str, warnings: list[str]) -> DialTarget:
    a = Attrs(el, where, NOUN_KNOWN[el.tag], warnings)
    address = _text(el)
    if el.tag == "Client":
        for child in el:
            if child.tag == "Identity":
                address = _text(child)
            elif child.tag != "Parameter":
                raise TwimlError(f"{where}: <{child.tag}> cannot be nested in <Client>")
    else:
        _no_children(el, where)
    if not address:
        raise TwimlError(f"{where}: <{el.tag}> is empty")
    if el.tag == "Sip" and not address.lower().startswith(("sip:", "sips:")):
        raise TwimlError(f"{where}: <Sip> address {address!r} must start with sip:")
    events: frozenset[str] = frozenset()
    if el.tag != "Queue":
        events = a.events("statusCallbackEvent", CALL_EVENTS, ("completed",))
        a.method("statusCallbackMethod")
    return DialTarget(kind=el.tag.lower(), address=address, url=a.url("url"),
                      method=a.method("method"),
                      status_callback=a.url("statusCallback") if el.tag != "Queue" else None,
                      status_callback_method=(a.method("statusCallbackMethod")
                                              if el.tag != "Queue" else "POST"),
                      status_callback_events=events)


_PARSERS: dict[str, Callable[[ET.Element, str, list[str]], Verb]] = {
    "Say": _say, "Play": _play, "Pause": _pause, "Gather": _gather, "Record": _record,
    "Redirect": _redirect, "Enqueue": _enqueue, "Leave": _leave, "Hangup": _hangup,
    "Reject": _reject, "Dial": _dial,
}
