"""The voice menu of the 400 line as a pure decision table.

A menu node is played by a ``<Gather>``; whatever comes back (keys, speech, nothing) is
turned into the next ``Step`` by ``decide``. The state that matters (node, attempt) travels
in the action URL, so a retried webhook yields the same answer.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from callcenter.numbers import ASCII_DIGITS, is_ascii_number


class Node(StrEnum):
    MAIN = "main"  # in hours: 1 inquiry, 2 complaint, 3 repair, 4 status, 9 repeat
    AFTER_HOURS = "after_hours"  # 1 voicemail, 4 status, 9 repeat
    LOOKUP_MENU = "lookup_menu"  # after the caller-ID lookup: 1 key a number, 9 back
    LOOKUP_NUMBER = "lookup_number"  # digits then '#'
    LOOKUP_PIN = "lookup_pin"  # digits then '#'


class Skill(StrEnum):
    INQUIRY = "inquiry"
    COMPLAINT = "complaint"
    REPAIR = "repair"


class Action(StrEnum):
    QUEUE_INQUIRY = "queue_inquiry"
    QUEUE_COMPLAINT = "queue_complaint"
    QUEUE_REPAIR = "queue_repair"
    STATUS_BY_CALLER_ID = "status_by_caller_id"
    KEY_COMPLAINT_NUMBER = "key_complaint_number"
    VOICEMAIL = "voicemail"
    REPEAT = "repeat"
    BACK = "back"


QUEUE_SKILLS = {
    Action.QUEUE_INQUIRY: Skill.INQUIRY,
    Action.QUEUE_COMPLAINT: Skill.COMPLAINT,
    Action.QUEUE_REPAIR: Skill.REPAIR,
}

# Words a caller may say instead of pressing a key; speech comes back as free text.
SPOKEN_DIGITS = {"零": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
                 "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}


@dataclass(frozen=True)
class Option:
    """One choice of a node. ``speech_rank`` orders spoken matches: "查询投诉结果" names a
    complaint but asks for a lookup, so lookup words are tried before the queue words."""

    key: str
    action: Action
    words: tuple[str, ...] = ()
    speech_rank: int = 1


@dataclass(frozen=True)
class MenuNode:
    node: Node
    options: tuple[Option, ...]

    def by_key(self, key: str) -> Option | None:
        return next((option for option in self.options if option.key == key), None)

    def by_speech(self, text: str) -> Option | None:
        for option in sorted(self.options, key=lambda option: option.speech_rank):
            if any(word in text for word in option.words):
                return option
        digits = spoken_digits(text)
        return self.by_key(digits) if len(digits) == 1 else None


DEFAULT_NODES = (
    MenuNode(Node.MAIN, (
        Option("1", Action.QUEUE_INQUIRY, ("咨询", "问询")),
        Option("2", Action.QUEUE_COMPLAINT, ("投诉",)),
        Option("3", Action.QUEUE_REPAIR, ("报修", "维修", "修理")),
        Option("4", Action.STATUS_BY_CALLER_ID, ("查询", "进度", "结果"), speech_rank=0),
        Option("9", Action.REPEAT, ("重听", "重复", "再说")),
    )),
    MenuNode(Node.AFTER_HOURS, (
        Option("1", Action.VOICEMAIL, ("留言",)),
        Option("4", Action.STATUS_BY_CALLER_ID, ("查询", "进度", "结果"), speech_rank=0),
        Option("9", Action.REPEAT, ("重听", "重复", "再说")),
    )),
    MenuNode(Node.LOOKUP_MENU, (
        Option("1", Action.KEY_COMPLAINT_NUMBER, ("单号", "编号", "输入")),
        Option("9", Action.BACK, ("返回", "主菜单")),
    )),
)

MAX_ATTEMPTS = 3
MAX_KEYED_DIGITS = 16
MIN_COMPLAINT_NUMBER_DIGITS = 4
MIN_PIN_DIGITS = 4


@dataclass(frozen=True)
class CallerInput:
    """What one Gather returned: keys, recognised speech, or neither (a time-out)."""

    digits: str = ""
    speech: str = ""

    @classmethod
    def from_webhook(cls, digits: str | None, speech: str | None) -> CallerInput:
        """Clean Twilio's raw parameters: keep phone keys only, bound the speech text."""
        keys = "".join(ch for ch in (digits or "") if ch in "0123456789*#")
        text = unicodedata.normalize("NFKC", (speech or "")[:200]).strip()
        return cls(keys[:MAX_KEYED_DIGITS + 1], text)

    @property
    def empty(self) -> bool:
        return not self.digits and not self.speech

    def describe(self) -> str:
        if self.digits:
            return f"dtmf:{self.digits}"
        if self.speech:
            return f"speech:{self.speech[:40]}"
        return "none"


def spoken_digits(text: str) -> str:
    """Digits in recognised speech, Chinese numerals included ('二' -> '2')."""
    out = []
    for ch in text:
        if ch in ASCII_DIGITS:
            out.append(ch)
        elif ch in SPOKEN_DIGITS:
            out.append(SPOKEN_DIGITS[ch])
    return "".join(out)


@dataclass(frozen=True)
class Step:
    """What the call does next."""

    kind: str  # "play" a node, "action" chosen, or "give_up" after too many failures
    node: Node
    attempt: int = 1
    action: Action | None = None
    reprompt: bool = False
    value: str = ""


@dataclass(frozen=True)
class Menu:
    nodes: dict[Node, MenuNode] = field(
        default_factory=lambda: {menu.node: menu for menu in DEFAULT_NODES}
    )
    max_attempts: int = MAX_ATTEMPTS

    def entry(self, is_open: bool) -> Node:
        return Node.MAIN if is_open else Node.AFTER_HOURS

    def decide(self, node: Node, attempt: int, caller: CallerInput) -> Step:
        """The next step after ``caller`` answered the ``attempt``-th play of ``node``.

        A wrong, missing or unrecognised answer replays the node with a short re-prompt;
        after ``max_attempts`` failures the step is ``give_up``, which the caller of this
        function turns into the safe default (a queue in hours, voicemail after hours).
        """
        attempt = max(1, min(attempt, self.max_attempts))
        if node in (Node.LOOKUP_NUMBER, Node.LOOKUP_PIN):
            return self._decide_keyed(node, attempt, caller)
        menu = self.nodes[node]
        option = None
        if caller.digits:
            key = caller.digits.rstrip("#")
            option = menu.by_key(key) if len(key) == 1 else None
        elif caller.speech:
            option = menu.by_speech(caller.speech)
        if option is None:
            return self._failed(node, attempt)
        if option.action is Action.REPEAT:
            return Step("play", node, attempt=1)
        return Step("action", node, attempt=attempt, action=option.action)

    def _decide_keyed(self, node: Node, attempt: int, caller: CallerInput) -> Step:
        keyed = caller.digits.rstrip("#") or spoken_digits(caller.speech)
        minimum = MIN_COMPLAINT_NUMBER_DIGITS if node is Node.LOOKUP_NUMBER else MIN_PIN_DIGITS
        if is_ascii_number(keyed) and minimum <= len(keyed) <= MAX_KEYED_DIGITS:
            return Step("action", node, attempt=attempt, value=keyed)
        return self._failed(node, attempt)

    def _failed(self, node: Node, attempt: int) -> Step:
        if attempt >= self.max_attempts:
            return Step("give_up", node, attempt=attempt)
        return Step("play", node, attempt=attempt + 1, reprompt=True)

