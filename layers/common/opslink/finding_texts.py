"""The quality findings' words, catalogued per language: a finding is a kind and its
parameters; its title, evidence and recommendation (and its team and severity) are
rendered from these templates — in English for notifications and the default report, in
Chinese for `--lang zh` — never assembled from English fragments."""

from __future__ import annotations

from typing import Any

LANGS = ("en", "zh")

# kind -> lang -> (title, evidence, recommendation); str.format templates.
FINDINGS: dict[str, dict[str, tuple[str, str, str]]] = {
    "automation_rate": {
        "en": (
            "Automation rate below target",
            "automation rate {rate} % ({automated} of {alerts} alerts had a runbook launched); "
            "target {target} %",
            "add or widen runbooks for these alert types: {types}; review suppressions and "
            "approvals",
        ),
        "zh": (
            "自动化率低于目标",
            "自动化率 {rate}%（{alerts} 个告警中有 {automated} 个启动了运行手册）；目标 {target}%",
            "为以下告警类型新增或扩展运行手册：{types}；复查抑制与审批设置",
        ),
    },
    "success_rate": {
        "en": (
            "Automation success rate below target",
            "verified success {rate} % of {jobs} finished jobs (exit 0: {exit0} %); "
            "target {target} %",
            "review the runbooks with the lowest verified-fix rate (below)",
        ),
        "zh": (
            "自动化成功率低于目标",
            "{jobs} 个已完成作业的验证成功率为 {rate}%（退出码 0：{exit0}%）；目标 {target}%",
            "复查验证修复率最低的运行手册（见下文）",
        ),
    },
    "mtta": {
        "en": (
            "Time to automation above target",
            "mean {mean} min, p90 {p90} min from alarm to job launched; approvals asked "
            "{requested}: {granted} granted, {rejected} rejected, {expired} expired; target "
            "{target} min",
            "move proven runbooks from approval to auto; shorten the first poll and the "
            "alarm's evaluation period",
        ),
        "zh": (
            "自动化时间高于目标",
            "从告警到作业启动平均 {mean} 分钟，p90 {p90} 分钟；审批请求 {requested} 次："
            "批准 {granted}，拒绝 {rejected}，过期 {expired}；目标 {target} 分钟",
            "将已验证可靠的运行手册从审批改为自动；缩短首次轮询间隔和告警的评估周期",
        ),
    },
    "runbook_rarely_fixes": {
        "en": (
            "Runbook {runbook} rarely fixes the problem",
            "verified-fix rate {rate} % over {jobs} runs",
            "review runbook {runbook} (or switch it to shadow mode while it is fixed)",
        ),
        "zh": (
            "运行手册 {runbook} 很少能解决问题",
            "{jobs} 次运行的验证修复率为 {rate}%",
            "复查运行手册 {runbook}（修复期间可切换为影子模式）",
        ),
    },
    "runbook_graduate": {
        "en": (
            "Runbook {runbook} is ready to run unattended",
            "{verified} of {jobs} approved runs were verified fixes ({rate} %; graduation "
            "needs >= {need_rate} % over >= {need_runs} runs)",
            "change runbooks/{runbook}.yaml to `risk: auto` (a catalog change, reviewed and "
            "recorded in the audit trail)",
        ),
        "zh": (
            "运行手册 {runbook} 已可无人值守运行",
            "{jobs} 次经批准的运行中有 {verified} 次为已验证修复（{rate}%；升级要求至少 "
            "{need_runs} 次运行且不低于 {need_rate}%）",
            "将 runbooks/{runbook}.yaml 改为 `risk: auto`（目录变更，经评审并记入审计记录）",
        ),
    },
    "runbook_demote": {
        "en": (
            "Runbook {runbook} fixes less than its record: demote it",
            "verified-fix rate {rate} % over {jobs} runs this window, {old_rate} % over "
            "{old_jobs} runs before",
            "set `risk: approval` in runbooks/{runbook}.yaml (or `opslink automation mode "
            "{runbook} approval` now) until it is understood",
        ),
        "zh": (
            "运行手册 {runbook} 的修复率低于其历史：应降级",
            "本期 {jobs} 次运行的验证修复率为 {rate}%，此前 {old_jobs} 次运行为 {old_rate}%",
            "在 runbooks/{runbook}.yaml 中设置 `risk: approval`（或立即执行 `opslink automation "
            "mode {runbook} approval`），直到查明原因",
        ),
    },
    "type_unautomated": {
        "en": (
            "No automation for alert type {alert_type}",
            "{alerts} alerts of type {alert_type}, none remediated ({suppressed} suppressed)",
            "add a runbook for {alert_type} (or check why the matching one is suppressed)",
        ),
        "zh": (
            "告警类型 {alert_type} 没有自动化",
            "类型为 {alert_type} 的告警 {alerts} 个，均未修复（{suppressed} 个被抑制）",
            "为 {alert_type} 添加运行手册（或检查匹配的运行手册为何被抑制）",
        ),
    },
}

# A list of alert types inside a finding: one item per type, joined per language.
TYPE_ITEM = {
    "en": "{name} ({without} of {alerts} without a run)",
    "zh": "{name}（{alerts} 个中 {without} 个未运行）",
}
JOIN = {"en": ", ", "zh": "、"}
NONE = {"en": "none recorded by type", "zh": "无按类型记录的告警"}

TEAMS = {
    "automation team": {"zh": "自动化团队"},
    "SRE team": {"zh": "SRE 团队"},
    "platform team": {"zh": "平台团队"},
}
SEVERITIES = {"high": {"zh": "高"}, "medium": {"zh": "中"}, "low": {"zh": "低"}}


def _param(value: Any, lang: str) -> str:
    if isinstance(value, list):  # alert types: [{"name", "without", "alerts"}, …]
        items = [TYPE_ITEM[lang].format(**item) for item in value]
        return JOIN[lang].join(items) if items else NONE[lang]
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def render(kind: str, params: dict[str, Any], lang: str = "en") -> tuple[str, str, str]:
    """(title, evidence, recommendation) of a finding in `lang` (English if unknown)."""
    templates = FINDINGS[kind].get(lang) or FINDINGS[kind]["en"]
    values = {k: _param(v, lang) for k, v in params.items()}
    title, evidence, recommendation = (t.format(**values) for t in templates)
    return title, evidence, recommendation


def team(name: str, lang: str = "en") -> str:
    return TEAMS.get(name, {}).get(lang, name)


def severity(name: str, lang: str = "en") -> str:
    return SEVERITIES.get(name, {}).get(lang, name)
