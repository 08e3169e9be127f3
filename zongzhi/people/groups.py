"""Special populations (特殊人群/重点人员): the groups, who may see each one, and each group's own
fields. Pure data: no database access.

A membership (``SpecialGroupMembership``) has the fields every group shares in columns (period,
supervisor, risk level 0–5, risk assessment, assistance status) and the group-specific fields in
one encrypted JSON document (``details_enc``) described here by ``GROUP_FIELDS``: the service
validates it against the list, forms and the API build their inputs from it.

Access: a role sees a group's memberships (and visits to them) where it holds the group's
permission ``special.<group>`` (``group_perm``) — see ``zongzhi.orgs.roles``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class SpecialGroup(models.TextChoices):
    COMMUNITY_CORRECTION = "community_correction", _("社区矫正对象")
    RELEASED_PRISONER = "released_prisoner", _("刑满释放人员")
    DRUG_USER = "drug_user", _("吸毒人员（社区戒毒/康复）")
    MENTAL_DISORDER = "mental_disorder", _("严重精神障碍患者")
    AIDS_RISK = "aids_risk", _("艾滋病危险人员")
    KEY_YOUTH = "key_youth", _("重点青少年")


def group_perm(group: str) -> str:
    """The permission that lets a role see (and visit) members of ``group``."""
    return f"special.{group}"


@dataclass(frozen=True)
class DetailField:
    """One group-specific field: a name, a Chinese label, a kind and whether it is required."""

    name: str
    label: Any
    kind: str = "text"  # text | textarea | date | choice | int
    required: bool = False
    choices: tuple[tuple[str, Any], ...] = ()


GROUP_FIELDS: dict[str, tuple[DetailField, ...]] = {
    SpecialGroup.COMMUNITY_CORRECTION: (
        DetailField("crime", _("罪名"), required=True),
        DetailField(
            "correction_type",
            _("矫正类别"),
            "choice",
            True,
            (
                ("probation", _("缓刑")),
                ("parole", _("假释")),
                ("surveillance", _("管制")),
                ("medical_parole", _("暂予监外执行")),
            ),
        ),
        DetailField("sentence", _("原判刑期")),
        DetailField("judgement_org", _("判决机关")),
        DetailField("justice_office", _("负责司法所")),
    ),
    SpecialGroup.RELEASED_PRISONER: (
        DetailField("crime", _("罪名"), required=True),
        DetailField("sentence", _("原判刑期")),
        DetailField("released_on", _("释放日期"), "date", True),
        DetailField("prison", _("服刑场所")),
        DetailField("resettlement", _("安置情况"), "textarea"),
    ),
    SpecialGroup.DRUG_USER: (
        DetailField("drug_type", _("滥用毒品种类"), required=True),
        DetailField(
            "control_measure",
            _("管控措施"),
            "choice",
            True,
            (
                ("community_detox", _("社区戒毒")),
                ("community_rehab", _("社区康复")),
                ("voluntary", _("自愿戒毒")),
                ("none", _("无")),
            ),
        ),
        DetailField("first_found_on", _("首次发现日期"), "date"),
        DetailField("last_test_on", _("最近一次检测日期"), "date"),
    ),
    SpecialGroup.MENTAL_DISORDER: (
        DetailField("diagnosis", _("诊断"), required=True),
        DetailField("guardian_name", _("监护人"), required=True),
        DetailField("guardian_phone", _("监护人电话")),
        DetailField(
            "treatment",
            _("治疗情况"),
            "choice",
            False,
            (
                ("regular", _("规律服药")),
                ("irregular", _("间断服药")),
                ("none", _("未服药")),
                ("hospitalised", _("住院治疗")),
            ),
        ),
        DetailField("doctor", _("签约医生")),
    ),
    SpecialGroup.AIDS_RISK: (
        DetailField("risk_behaviour", _("危险行为"), required=True),
        DetailField("followup_org", _("随访机构")),
        DetailField("last_test_on", _("最近一次检测日期"), "date"),
    ),
    SpecialGroup.KEY_YOUTH: (
        DetailField(
            "youth_type",
            _("重点青少年类别"),
            "choice",
            True,
            (
                ("dropout", _("闲散青少年")),
                ("misconduct", _("有不良行为")),
                ("left_behind", _("留守儿童")),
                ("streetwise", _("流浪乞讨")),
                ("offender_child", _("服刑人员未成年子女")),
            ),
        ),
        DetailField("guardian_name", _("监护人"), required=True),
        DetailField("school", _("就读学校")),
    ),
}


def clean_details(group: str, raw: dict[str, Any] | None) -> tuple[dict[str, str], dict[str, str]]:
    """Validate ``raw`` against the group's fields.

    Returns ``(clean, errors)``: ``clean`` holds the known fields as strings (dates ISO), unknown
    keys dropped; ``errors`` maps a field name to a Chinese reason."""
    raw = raw or {}
    clean: dict[str, str] = {}
    errors: dict[str, str] = {}
    for f in GROUP_FIELDS.get(group, ()):
        value = raw.get(f.name)
        text = "" if value is None else str(value).strip()
        if isinstance(value, dt.date):
            text = value.isoformat()
        if not text:
            if f.required:
                errors[f.name] = str(_("请填写{label}。").format(label=f.label))
            continue
        if f.kind == "date":
            try:
                text = dt.date.fromisoformat(text[:10]).isoformat()
            except ValueError:
                errors[f.name] = str(_("{label}不是有效日期（YYYY-MM-DD）。").format(label=f.label))
                continue
        elif f.kind == "choice" and text not in {c for c, _label in f.choices}:
            errors[f.name] = str(_("{label}的取值无效。").format(label=f.label))
            continue
        elif f.kind == "int":
            try:
                text = str(int(text))
            except ValueError:
                errors[f.name] = str(_("{label}应为整数。").format(label=f.label))
                continue
        clean[f.name] = text[:2000]
    return clean, errors


def detail_label(group: str, name: str) -> str:
    for f in GROUP_FIELDS.get(group, ()):
        if f.name == name:
            return str(f.label)
    return name


def detail_display(group: str, name: str, value: str) -> str:
    for f in GROUP_FIELDS.get(group, ()):
        if f.name == name and f.kind == "choice":
            return str(dict(f.choices).get(value, value))
    return value
