"""Loading and checking policy files: the default, other profiles, and files with mistakes."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handlers.calendar import DayKind, DayRule
from handlers.escalation import Classification, deadline_rules
from handlers.policy import (
    DEFAULT_POLICY_PATH,
    PolicyError,
    load_default_policy,
    load_policy,
    parse_policy,
)
from handlers.sla import Deadline, Duration, Unit, deadline

SH = ZoneInfo("Asia/Shanghai")
DEFAULT_TEXT = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")

# A whole policy, as small as the format allows: a province whose hotline closes
# inquiries in 2 working days and complaints in 15.
PROVINCE = """\
[policy]
name = "省热线"

[calendar]
timezone = "Asia/Shanghai"
holidays = "chinese_calendar"
working_hours = { periods = ["08:30-12:00", "14:00-17:30"], days = "working_days" }
business_hours = { periods = ["00:00-24:00"], days = "every_day" }

[calendar.fallback]
fixed_holidays = ["01-01"]
qingming = false
extra_holidays = []

[calendar.years.2027]
holidays = ["2027-01-01", "2027-02-05", "2027-02-08"]
workdays = ["2027-02-20"]

[roles]
operator = { name = "话务员" }
department = { name = "承办单位" }
director = { name = "主任" }

[escalation]
chain = ["operator", "department", "director"]

[classes]
inquiry = { name = "咨询" }
complaint = { name = "投诉" }

[levels]
general = { name = "一般" }

[urgencies]
normal = { name = "一般" }

[severities]
1 = { name = "一般" }

[channels]
phone = { name = "电话" }

[flags]
media = { name = "媒体" }

[demands]
reply = { name = "答复" }

[routing.default]
start = "operator"
final_answer = "operator"
ceiling = "director"

[flow]
initial = "handle"
callback = "handle"
reopen = "handle"
archive = "archive"

[stages.handle]
name = "办理"
next = "archive"

[stages.handle.deadlines]
close = { name = "办结", amount = 15, unit = "working_days", from = "created" }

[[stages.handle.overrides]]
when = { class = "inquiry" }
close = { amount = 2, unit = "working_days" }

[stages.archive]
name = "归档"

[breach_plans.default]
first = { mark_overdue = true, escalate = true }

[callback]
rating_scale = 5
satisfied_from = 3
unsolved_is_unsatisfied = true
on_unsatisfied = { reopen = true }
max_reopens = 1
on_reopen_limit = { notify = ["director"] }
after_reopen_limit = "archive"
attempts = 2
retry_after = { amount = 1, unit = "working_days" }

[extension]
allowed = false
request_before_deadline = true
reason_required = true
max_count = 0
max_ratio = 0
notify = []

[appeal]
window = { amount = 1, unit = "working_days" }
return_to = "operator"

[major]
report_to = ["director"]
report_within = { amount = 24, unit = "hours" }
"""


def profile_12345() -> str:
    start = DEFAULT_TEXT.index("# ===== BEGIN 12345 PROFILE =====")
    end = DEFAULT_TEXT.index("# ===== END 12345 PROFILE =====")
    lines = DEFAULT_TEXT[start:end].splitlines()[1:]
    return "\n".join(line[2:] if line.startswith("# ") else "" for line in lines) + "\n"


def line_of(text: str, fragment: str) -> int:
    """1-based number of the only non-comment line containing ``fragment``."""
    lines = enumerate(text.splitlines(), 1)
    hits = [n for n, line in lines if fragment in line and not line.startswith("#")]
    assert len(hits) == 1, (fragment, hits)
    return hits[0]


def error_for(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.toml")
    return caught.value


def test_default_policy_reproduces_the_service_rules() -> None:
    policy = load_default_policy()
    assert policy.chain == ("first_seat", "room_lead", "maintenance_room", "deputy_gm", "gm")
    assert [policy.roles[r].name for r in policy.chain] == [
        "第一客服", "室负责人", "客户维护室", "副总经理", "总经理"]
    assert [c.name for c in policy.classes.values()] == ["一类投诉", "二类投诉", "抱怨"]
    assert list(policy.levels) == ["L1", "L2", "L3"]
    assert [u.name for u in policy.urgencies.values()] == ["紧急", "重要", "一般"]
    assert list(policy.severities) == ["1", "2", "3"]
    assert policy.flow.order == ("accept", "verify", "handle", "feedback", "callback", "archive")
    assert (policy.flow.reopen, policy.stages["reopen"].next) == ("reopen", "feedback")
    accept = {d.id: d for d in policy.stages["accept"].deadlines}
    assert accept["acknowledge"].duration == Duration(1, Unit.BUSINESS_HOURS)
    assert accept["first_contact"].anchor == "met:handover"
    verify = {d.id: d for d in policy.stages["verify"].deadlines}
    assert verify["start"].duration == Duration(1, Unit.WORKING_DAYS)
    assert verify["start"].resume == "restart"
    assert {d.id: d.duration.amount for d in policy.stages["handle"].deadlines} == {
        "contact_store": 12, "result": 48}
    assert policy.stages["callback"].deadlines[0].duration == Duration(72, Unit.HOURS)
    assert policy.appeal.window == Duration(1, Unit.WORKING_DAYS)
    assert policy.major.report_within == Duration(24, Unit.HOURS)
    hours = policy.calendar.business_hours
    assert (str(hours), hours.days) == ("09:00-21:00", DayRule.EVERY_DAY)
    assert str(policy.calendar.working_hours) == "09:00-12:00, 13:30-18:00"
    assert policy.calendar.fallback.fixed_holidays == {
        (1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


def test_load_policy_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "province.toml"
    path.write_text(PROVINCE, encoding="utf-8")
    assert load_policy(path).name == "省热线"
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")


def test_province_closes_inquiries_in_2_and_complaints_in_15_working_days() -> None:
    policy = parse_policy(PROVINCE, "province.toml")
    calendar = policy.calendar.calendar()
    start = datetime(2025, 9, 26, 10, tzinfo=SH)  # Friday before the National Day break
    inquiry = deadline_rules(policy, Classification("inquiry", "general", "normal"), "handle")
    complaint = deadline_rules(policy, Classification("complaint", "general", "normal"), "handle")
    assert inquiry[0].duration == Duration(2, Unit.WORKING_DAYS)
    assert complaint[0].duration == Duration(15, Unit.WORKING_DAYS)
    # 28 Sep (Sun, worked), 29, 30 Sep; 9, 10, 11 (Sat, worked), 13-17, 20-23 Oct.
    assert deadline(start, inquiry[0].duration, calendar) == Deadline(
        datetime(2025, 9, 29, 17, 30, tzinfo=SH))
    assert deadline(start, complaint[0].duration, calendar) == Deadline(
        datetime(2025, 10, 23, 17, 30, tzinfo=SH))


def test_year_schedule_in_the_file_is_used_and_not_provisional() -> None:
    policy = parse_policy(PROVINCE, "province.toml")
    assert policy.calendar.schedule_years == {2027}
    assert policy.calendar.overrides[date(2027, 2, 20)] is DayKind.MAKEUP_WORKDAY
    calendar = policy.calendar.calendar()
    assert calendar.day(date(2027, 2, 5)).kind is DayKind.HOLIDAY
    # Friday 5 Feb and Monday 8 Feb off; Saturday 20 Feb worked.
    start = datetime(2027, 2, 4, 10, tzinfo=SH)
    assert deadline(start, Duration(1, Unit.WORKING_DAYS), calendar) == Deadline(
        datetime(2027, 2, 9, 17, 30, tzinfo=SH), False)
    # Database entries passed at run time win over the file's.
    later = policy.calendar.calendar({date(2027, 2, 9): DayKind.HOLIDAY})
    assert deadline(start, Duration(1, Unit.WORKING_DAYS), later).at.day == 10


def test_the_12345_profile_in_the_default_file_is_valid() -> None:
    policy = parse_policy(profile_12345(), "12345.toml")
    assert str(policy.calendar.business_hours) == "00:00-24:00"
    for cls, days in (("inquiry", 5), ("complaint", 15), ("report", 30)):
        rules = deadline_rules(policy, Classification(cls, "general", "normal"), "handle")
        assert rules[0].duration == Duration(days, Unit.WORKING_DAYS)
    accept = deadline_rules(policy, Classification("inquiry", "general", "normal"), "accept")
    assert accept[0].duration == Duration(1, Unit.WORKING_DAYS)


def test_syntax_error_names_the_line() -> None:
    text = DEFAULT_TEXT.replace("satisfied_from = 4", "satisfied_from = = 4")
    error = error_for(text)
    assert error.line == line_of(text, "satisfied_from = = 4")
    assert "invalid TOML" in str(error) and str(error).startswith(f"policy.toml, line {error.line}")


@pytest.mark.parametrize(
    ("old", "new", "key", "marker", "expected"),
    [
        (
            'start = { name = "启动核实", amount = 1, unit = "working_days"',
            'start = { name = "启动核实", amount = 1, unit = "weeks"',
            "stages.verify.deadlines.start.unit", 'unit = "weeks"', "units",
        ),
        (
            'chain = ["first_seat", "room_lead"',
            'chain = ["first_seat", "room_boss"',
            "escalation.chain[1]", "room_boss", "role ids",
        ),
        (
            "max_repeats = 3", 'max_repeats = "3"',
            "breach_plans.default.max_repeats", 'max_repeats = "3"', "a whole number",
        ),
        (
            'contact_store = { name = "联系责任门店确认责任人", amount = 12',
            'contact_store = { name = "联系责任门店确认责任人", amount = -12',
            "stages.handle.deadlines.contact_store.amount", "amount = -12", ">= 0",
        ),
        (
            'window = { amount = 1, unit = "working_days" }\nreturn_to',
            "return_to",
            "appeal.window", "[appeal]", "missing",
        ),
        (
            'acknowledge = { amount = 30, unit = "business_minutes" }',
            'acknowledge = { amout = 30, unit = "business_minutes" }',
            "stages.accept.overrides[0].acknowledge.amout", "amout = 30", "unknown key",
        ),
        (
            'when = { severity = "3" }\n\n#',
            'when = { severity = "4" }\n\n#',
            "major.triggers[6].when.severity", 'severity = "4"', "severity ids",
        ),
        (
            'periods = ["09:00-21:00"]', 'periods = ["09:00-25:00"]',
            "calendar.business_hours.periods", "09:00-25:00", "periods like",
        ),
        (
            '\ntimezone = "Asia/Shanghai"', '\ntimezone = "Asia/Beijing"',
            "calendar.timezone", "Asia/Beijing", "Asia/Shanghai",
        ),
        (
            'from = "met:handover"', 'from = "met:nothing"',
            "stages.accept.deadlines.first_contact.from", "met:nothing", "start events",
        ),
        (
            "extra_holidays = []  ", 'extra_holidays = ["2027-13-01"]  ',
            "calendar.fallback.extra_holidays[0]", "2027-13-01", "date like",
        ),
        (
            'start = "first_seat"\nnotify = []', 'start = "legal"\nnotify = []',
            "routing.default.start", 'start = "legal"', "roles of the escalation chain",
        ),
        (
            'notify = ["@current", "@next"] }\nrepeat', 'notify = ["@current", "@boss"] }\nrepeat',
            "breach_plans.default.first.notify[1]", "@boss", "tokens",
        ),
        (
            'name = "处理"\nnext = "feedback"', 'name = "处理"\nnext = "accept"',
            "stages.handle.next", 'next = "accept"', "loop back",
        ),
        (
            "\n[flags]\n", "\n[flagz]\n", "flagz", "[flagz]", "unknown key",
        ),
        (
            "\nmax_ratio = 1.0", "\nmax_ratio = -1.0",
            "extension.max_ratio", "max_ratio = -1.0", ">= 0",
        ),
        (
            "\nqingming = true", '\nqingming = "yes"',
            "calendar.fallback.qingming", 'qingming = "yes"', "true or false",
        ),
        (
            "satisfied_from = 4", "satisfied_from = 6",
            "callback.satisfied_from", "satisfied_from = 6", "1 to 5",
        ),
    ],
)
def test_errors_name_key_line_and_expectation(
    old: str, new: str, key: str, marker: str, expected: str
) -> None:
    assert DEFAULT_TEXT.count(old) == 1, old
    text = DEFAULT_TEXT.replace(old, new)
    error = error_for(text)
    assert error.key == key
    assert error.line == line_of(text, marker)
    assert expected in error.problem
    assert str(error) == f"policy.toml, line {error.line}: {key}: {error.problem}"


def test_missing_section_without_a_parent_has_no_line() -> None:
    start = PROVINCE.index("[major]")
    error = error_for(PROVINCE[:start])
    assert (error.key, error.line) == ("major", None)
    assert str(error) == "policy.toml: major: missing; it is required"


def test_error_inside_a_multiline_list_points_at_the_value() -> None:
    text = PROVINCE.replace(
        'chain = ["operator", "department", "director"]',
        'chain = [\n    "operator",\n    "departmnet",\n    "director",\n]',
    )
    error = error_for(text)
    assert (error.key, error.line) == ("escalation.chain[1]", line_of(text, '"departmnet"'))


def test_error_in_an_array_of_tables() -> None:
    text = DEFAULT_TEXT.replace('when = { level = "L2" }', 'when = { level = "L4" }')
    error = error_for(text)
    assert error.key == "routing.rules[3].when.level"
    assert error.line == line_of(text, 'level = "L4"')


def test_year_table_must_hold_dates_of_that_year() -> None:
    text = PROVINCE.replace('workdays = ["2027-02-20"]', 'workdays = ["2026-02-20"]')
    error = error_for(text)
    assert error.key == "calendar.years.2027.workdays[0]"
    assert error.line == line_of(text, "2026-02-20")


def test_repeat_without_interval_is_refused() -> None:
    text = DEFAULT_TEXT.replace('repeat_every = { amount = 1, unit = "working_days" }\n', "")
    error = error_for(text)
    assert error.key == "breach_plans.default.repeat_every"
    assert error.line == line_of(text, "[breach_plans.default]")


def test_trigger_needs_a_condition() -> None:
    text = PROVINCE + '\n[[major.triggers]]\nid = "x"\nreason = "无条件"\n'
    error = error_for(text)
    assert (error.key, error.line) == ("major.triggers[0]", line_of(text, "[[major.triggers]]"))
