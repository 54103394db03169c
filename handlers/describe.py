"""A policy in plain words, so an operator can check what the file says before using it.

The text is Chinese, with the file's ids in parentheses or brackets so each sentence can be
traced back to the key that produced it.
"""

from __future__ import annotations

from itertools import product

from handlers.calendar import DayRule, WorkingHours, official_years
from handlers.escalation import Classification, resolve_routing
from handlers.policy import ActionSet, DeadlineSpec, MetOn, Policy, ResumeMode, Routing
from handlers.policy_reader import Condition
from handlers.sla import Duration, Unit

_UNIT_WORDS = {
    Unit.MINUTES: "{} 分钟",
    Unit.HOURS: "{} 小时",
    Unit.CALENDAR_DAYS: "{} 个自然日",
    Unit.WORKING_MINUTES: "{} 分钟(仅计工作时间)",
    Unit.WORKING_HOURS: "{} 小时(仅计工作时间)",
    Unit.WORKING_DAYS: "{} 个工作日",
    Unit.BUSINESS_MINUTES: "{} 分钟(仅计服务时间)",
    Unit.BUSINESS_HOURS: "{} 小时(仅计服务时间)",
}
_FIELD_WORDS = {
    "class": ("类别", "classes"),
    "level": ("原因等级", "levels"),
    "urgency": ("紧急程度", "urgencies"),
    "severity": ("座席责任程度", "severities"),
    "channel": ("渠道", "channels"),
}
_NUMERALS = "一二三四五六七八九十"
_MET_ON_WORDS = {
    MetOn.STAGE_END: "离开本环节即完成",
    MetOn.ACKNOWLEDGED: "受理确认短信发出即完成",
}


def describe_duration(duration: Duration) -> str:
    """``1 个工作日 [1 working_days]``; zero amounts say what "at once" means for the unit."""
    amount = f"{duration.amount:g}"
    if duration.amount == 0 and duration.unit is Unit.WORKING_DAYS:
        words = "当个工作日下班前"
    elif duration.amount == 0 and duration.unit.basis is not None:
        words = "立即(不在计时时段内则为下一时段开始时)"
    elif duration.amount == 0:
        words = "立即"
    else:
        words = _UNIT_WORDS[duration.unit].format(amount)
    return f"{words} [{amount} {duration.unit}]"


def _roles(policy: Policy, roles: tuple[str, ...]) -> str:
    words = {"@current": "当时的处理人(@current)", "@next": "升级后的处理人(@next)"}
    return "、".join(words.get(r) or policy.role_label(r) for r in roles) or "无"


def _condition(policy: Policy, condition: Condition) -> str:
    parts = []
    for name, allowed in condition.terms:
        if name == "complex":
            parts.append("为复杂投诉" if True in allowed else "为非复杂投诉")
        elif name == "online":
            parts.append("渠道为线上" if True in allowed else "渠道为线下")
        else:
            label, section = _FIELD_WORDS[name]
            entries = getattr(policy, section)
            names = " 或 ".join(entries[v].label() for v in sorted(allowed, key=str))
            parts.append(f"{label}为 {names}")
    return "且".join(parts) or "所有投诉"


def _actions(policy: Policy, actions: ActionSet) -> str:
    parts = []
    if actions.mark_overdue:
        parts.append("标记超时")
    if actions.reopen:
        parts.append("重新处理")
    if actions.escalate:
        parts.append("沿升级链升一级")
    if actions.notify:
        parts.append(f"通知 {_roles(policy, actions.notify)}")
    if actions.review_staff:
        parts.append("重新判定责任并处理责任人员")
    return ";".join(parts) or "不做处理"


def _routing(policy: Policy, routing: Routing) -> str:
    return (
        f"起始于 {policy.role_label(routing.start)};立即通知 {_roles(policy, routing.notify)};"
        f"最终答复 {policy.role_label(routing.final_answer)};"
        f"最高升至 {policy.role_label(routing.ceiling)}"
    )


def _anchor(policy: Policy, stage: str, spec: DeadlineSpec) -> str:
    if spec.anchor == "created":
        return "自投诉登记起"
    if spec.anchor == "stage_start":
        return "自进入本环节起"
    other = spec.anchor.removeprefix("met:")
    names = {d.id: d.name for d in policy.stages[stage].deadlines}
    return f"自「{names.get(other, other)}」({other})完成起"


def _stages(policy: Policy) -> list[str]:
    flow = policy.flow
    labels = {s.id: f"{s.name}({s.id})" for s in policy.stages.values()}
    reopen_next = policy.stages[flow.reopen].next
    lines = [
        "  流程:" + " → ".join(labels[s] for s in flow.order),
        f"  回访环节为 {labels[flow.callback]};回访不满意时进入 {labels[flow.reopen]}"
        + (f",之后回到 {labels[reopen_next]}" if reopen_next else ""),
    ]
    ordered = [*flow.order, *(s for s in policy.stages if s not in flow.order)]
    for stage_id in ordered:
        stage = policy.stages[stage_id]
        nxt = f",下一环节 {labels[stage.next]}" if stage.next else ",流程结束"
        lines.append(f"  {labels[stage_id]}{nxt}")
        if not stage.deadlines:
            lines.append("    - 无时限")
        for spec in stage.deadlines:
            notes = ["视情况启动"] if spec.optional else []
            if spec.resume == ResumeMode.RESTART:
                notes.append("等待材料暂停后重新计算整个时限")
            if spec.met_on != MetOn.STAGE_END:
                notes.append(_MET_ON_WORDS[MetOn(spec.met_on)])
            if spec.on_breach != "default":
                notes.append(f"超时按方案 {spec.on_breach} 处理")
            extra = f"({';'.join(notes)})" if notes else ""
            lines.append(
                f"    - {spec.name}({spec.id}):{_anchor(policy, stage_id, spec)} "
                f"{describe_duration(spec.duration)}{extra}"
            )
            for override in stage.overrides:
                for deadline_id, duration in override.durations:
                    if deadline_id == spec.id:
                        lines.append(
                            f"        当{_condition(policy, override.when)}时改为 "
                            f"{describe_duration(duration)}"
                        )
    return lines


def _calendar(policy: Policy) -> list[str]:
    settings = policy.calendar

    def hours(h: WorkingHours) -> str:
        days = "每天(含节假日)" if h.days is DayRule.EVERY_DAY else "仅工作日(按节假日与调休)"
        return f"{h},{days}"

    covered = official_years()
    source = (
        f"chinese_calendar(覆盖 {covered.start}–{covered.stop - 1} 年)"
        if settings.use_chinese_calendar
        else "不使用 chinese_calendar,只按下列规则与录入的年度安排"
    )
    fallback = settings.fallback
    fixed = "、".join(f"{m:02d}-{d:02d}" for m, d in sorted(fallback.fixed_holidays)) or "无"
    extra = "、".join(str(d) for d in sorted(fallback.extra_holidays)) or "无"
    lines = [
        f"  时区:{settings.timezone}",
        f"  工作时间(计算工作时长与工作日):{hours(settings.working_hours)}",
        f"  服务时间(人工服务):{hours(settings.business_hours)}",
        f"  节假日来源:{source}",
        f"  无官方安排的年份:周六日休息,固定节日 {fixed}"
        + (",清明(按节气)" if fallback.qingming else "")
        + f",另列节日 {extra};春节、端午、中秋与调休无法预知,这些年份的结果标记为临时(provisional)",
    ]
    for year in sorted(settings.schedule_years):
        days = [d for d in settings.overrides if d.year == year]
        off = sum(not settings.overrides[d].is_working for d in days)
        lines.append(
            f"  {year} 年安排已录入:休息 {off} 天,调休上班 {len(days) - off} 天,其余按周一至周五"
        )
    return lines


def describe_policy(policy: Policy) -> str:
    """The whole policy in plain words: chain, classification, routing, every deadline."""
    sections: list[tuple[str, list[str]]] = []
    chain = " → ".join(f"{i}. {policy.role_label(r)}" for i, r in enumerate(policy.chain, 1))
    others = tuple(r for r in policy.roles if r not in policy.chain)
    sections.append(("升级链(每次升一级)", [f"  {chain}", f"  其他角色:{_roles(policy, others)}"]))

    lines = []
    for title, entries in (
        ("投诉类别", policy.classes), ("原因等级", policy.levels), ("紧急程度", policy.urgencies),
        ("座席责任程度", policy.severities), ("受理渠道", policy.channels),
        ("座席标记", policy.flags), ("客户诉求", policy.demands),
    ):
        items = []
        for entry in entries.values():
            note = f":{entry.description}" if entry.description else ""
            if entries is policy.channels:
                note += ",线上" if getattr(entry, "online", False) else ",线下"
            items.append(f"{entry.label()}{note}")
        lines.append(f"  {title}:" + ";".join(items))
    sections.append(("分类", lines))

    lines = [f"  默认:{_routing(policy, policy.routing)}"]
    lines += [f"    指引:{g}" for g in policy.routing.guidance]
    for i, rule in enumerate(policy.routing_rules, 1):
        changes = [f"起始改为 {policy.role_label(rule.start)}"] if rule.start else []
        changes += [f"另通知 {_roles(policy, rule.notify)}"] if rule.notify else []
        if rule.final_answer:
            changes.append(f"最终答复改为 {policy.role_label(rule.final_answer)}")
        changes += [f"最高升至 {policy.role_label(rule.ceiling)}"] if rule.ceiling else []
        changes += [f"指引:{g}" for g in rule.guidance]
        lines.append(f"  规则 {i}:当{_condition(policy, rule.when)}时," + ";".join(changes))
    lines.append("  各类别 × 原因等级 × 紧急程度的结果:")
    for cls, level, urgency in product(policy.classes, policy.levels, policy.urgencies):
        routing = resolve_routing(policy, Classification(cls, level, urgency))
        names = "/".join((policy.classes[cls].label(), policy.levels[level].label(),
                          policy.urgencies[urgency].label()))
        lines.append(f"    {names}:{_routing(policy, routing)}")
    sections.append(("分派规则(后面的规则覆盖起始、最终答复与最高角色,通知与指引累加)", lines))

    sections.append(("环节与时限", _stages(policy)))

    lines = []
    for plan in policy.breach_plans.values():
        text = f"  {plan.id}:首次超时:{_actions(policy, plan.first)}"
        if plan.repeat is not None and plan.repeat_every is not None and plan.max_repeats:
            text += (
                f";此后每过 {describe_duration(plan.repeat_every)} 再次超时,"
                f"最多 {plan.max_repeats} 次:{_actions(policy, plan.repeat)}"
            )
        lines.append(text)
    sections.append(("超时处理方案", lines))

    cb = policy.callback
    unsolved = ";回答“未解决”一律视为不满意" if cb.unsolved_is_unsatisfied else ""
    sections.append(("回访", [
        f"  评分 1–{cb.rating_scale} 分,{cb.satisfied_from} 分及以上为满意{unsolved}",
        f"  不满意:{_actions(policy, cb.on_unsatisfied)}",
        f"  最多重新处理 {cb.max_reopens} 次;之后不满意:{_actions(policy, cb.on_reopen_limit)},"
        f"然后进入 {policy.stages[cb.after_reopen_limit].name}({cb.after_reopen_limit})",
        f"  回访电话在服务时间内拨打,最多 {cb.attempts} 次,每次间隔 "
        f"{describe_duration(cb.retry_after)};仍未接通则交由座席人工回访",
    ]))

    ext = policy.extension
    if ext.allowed:
        ext_text = (
            f"  允许延期{';须在时限届满前提出' if ext.request_before_deadline else ''}"
            f"{';须说明理由' if ext.reason_required else ''};最多 {ext.max_count} 次;"
            f"累计不超过原时限的 {ext.max_ratio:.0%};通知 {_roles(policy, ext.notify)}"
        )
    else:
        ext_text = "  不允许延期"
    sections.append(("延期", [ext_text]))
    sections.append(("申诉", [
        f"  非责任单位可在 {describe_duration(policy.appeal.window)} 内申诉,"
        f"工单退回 {policy.role_label(policy.appeal.return_to)}",
    ]))

    major = policy.major
    lines = ["  满足任一条件即为重大投诉:"]
    for trigger in major.triggers:
        conditions = []
        if trigger.repeat:
            conditions.append(
                f"同一号码在每次投诉后 {describe_duration(trigger.repeat.within)} 内"
                f"累计第 {trigger.repeat.count} 次投诉"
            )
        if trigger.flags:
            flags = " 或 ".join(policy.flags[f].label() for f in trigger.flags)
            conditions.append(f"座席标记 {flags}")
        if trigger.demands:
            demands = " 或 ".join(policy.demands[d].label() for d in trigger.demands)
            conditions.append(f"诉求为 {demands}")
        if trigger.when:
            conditions.append(_condition(policy, trigger.when))
        lines.append(f"    - {trigger.reason}({trigger.id}):" + "且".join(conditions))
    lines.append(
        f"  立即通知 {_roles(policy, major.notify_at_once)};"
        f"{describe_duration(major.report_within)} 内报备 {_roles(policy, major.report_to)};"
        f"召集 {_roles(policy, major.convene)}"
    )
    sections.append(("重大投诉", lines))
    sections.append(("工作日历", _calendar(policy)))

    out = [f"投诉处理策略:{policy.name}", f"来源:{policy.source}"]
    for i, (title, body) in enumerate(sections):
        out += ["", f"{_NUMERALS[i] if i < 10 else i + 1}、{title}", *body]
    return "\n".join(out) + "\n"
