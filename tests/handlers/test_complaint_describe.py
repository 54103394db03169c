"""The plain-words description names everything an operator needs to check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from handlers.describe import describe_duration, describe_policy
from handlers.policy import DEFAULT_POLICY_PATH, load_default_policy, parse_policy
from handlers.sla import Duration, Unit

POLICY = load_default_policy()
TEXT = describe_policy(POLICY)


def test_every_role_is_named_with_its_id() -> None:
    for role in POLICY.roles.values():
        assert f"{role.name}({role.id})" in TEXT
    assert "1. 第一客服(first_seat) → 2. 室负责人(room_lead) → 3. 客户维护室" in TEXT
    assert "4. 副总经理(deputy_gm) → 5. 总经理(gm)" in TEXT


def test_every_stage_and_deadline_is_described() -> None:
    for stage in POLICY.stages.values():
        assert f"{stage.name}({stage.id})" in TEXT
        for spec in stage.deadlines:
            assert f"{spec.name}({spec.id})" in TEXT
    assert "流程:受理(accept) → 核实(verify) → 处理(handle) → 反馈(feedback) → 回访" in TEXT
    assert "发送投诉受理确认函(acknowledge):自投诉登记起 1 小时(仅计服务时间) [1 business" in TEXT
    assert "当渠道为线上时改为 30 分钟(仅计服务时间) [30 business_minutes]" in TEXT
    assert "启动核实(start):自进入本环节起 1 个工作日 [1 working_days]" in TEXT
    assert "当为复杂投诉时改为 2 个工作日 [2 working_days]" in TEXT
    assert "回访投诉人(callback):自投诉登记起 72 小时 [72 hours]" in TEXT
    assert "自「工单传递处理部门」(handover)完成起" in TEXT


def test_routing_breaches_major_and_calendar_are_described() -> None:
    assert (
        "一类投诉(class_1)/客服责任投诉(L2)/紧急(urgent):起始于 室负责人(room_lead);"
        "立即通知 客户维护室(maintenance_room)、副总经理(deputy_gm)" in TEXT
    )
    assert "此后每过 1 个工作日 [1 working_days] 再次超时,最多 3 次" in TEXT
    assert "同一号码在每次投诉后 30 个自然日 [30 calendar_days] 内累计第 2 次投诉" in TEXT
    assert "24 小时 [24 hours] 内报备 品牌事业部/管理部(management)、法务部(legal)" in TEXT
    assert "非责任单位可在 1 个工作日 [1 working_days] 内申诉" in TEXT
    assert "工作时间(计算工作时长与工作日):09:00-12:00, 13:30-18:00" in TEXT
    assert "服务时间(人工服务):09:00-21:00,每天(含节假日)" in TEXT
    assert "chinese_calendar(覆盖 2004–2026 年)" in TEXT


def test_durations_in_words() -> None:
    assert describe_duration(Duration(15, Unit.WORKING_DAYS)) == "15 个工作日 [15 working_days]"
    assert describe_duration(Duration(0.5, Unit.WORKING_HOURS)) == (
        "0.5 小时(仅计工作时间) [0.5 working_hours]")
    assert describe_duration(Duration(0, Unit.WORKING_DAYS)).startswith("当个工作日下班前")
    assert describe_duration(Duration(0, Unit.BUSINESS_MINUTES)).startswith("立即(")
    assert describe_duration(Duration(0, Unit.HOURS)) == "立即 [0 hours]"


def test_another_profile_with_entered_years_is_described() -> None:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    start = text.index("# ===== BEGIN 12345 PROFILE =====")
    end = text.index("# ===== END 12345 PROFILE =====")
    body = "\n".join(
        line[2:] if line.startswith("# ") else "" for line in text[start:end].splitlines()[1:]
    )
    body = body.replace(
        "[roles]", '[calendar.years.2027]\nholidays = ["2027-01-01"]\nworkdays = []\n\n[roles]'
    )
    described = describe_policy(parse_policy(body, "12345.toml"))
    assert "办结(close):自投诉登记起 15 个工作日 [15 working_days]" in described
    assert "当类别为 咨询(inquiry)时改为 5 个工作日 [5 working_days]" in described
    assert "当类别为 举报(report)时改为 30 个工作日 [30 working_days]" in described
    assert "2027 年安排已录入:休息 1 天,调休上班 0 天" in described
    assert "服务时间(人工服务):00:00-24:00,每天(含节假日)" in described


def test_the_complaint_core_imports_no_framework() -> None:
    code = (
        "import sys\n"
        "import handlers.calendar, handlers.calendar_settings, handlers.describe\n"
        "import handlers.escalation, handlers.extensions, handlers.major\n"
        "import handlers.policy, handlers.policy_reader, handlers.sla\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(loaded & {'flask', 'sqlalchemy', 'twilio', 'redis', 'rq'}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
