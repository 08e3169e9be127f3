"""The case workflow as one table: state × action → target state, permission, note rule, clock.

This table is the only description of the workflow. ``cases.workflow.case_transition`` reads it
to reject illegal moves before writing; ``manage.py render_workflow`` renders it into
``docs/workflows/case.md`` (a test fails when that file is stale).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext, gettext_noop

from zongzhi.orgs.roles import Perm

from .models import CaseState as S
from .models import Stage

# ``SAME`` as a target keeps the current state (an action that records without moving the case).
SAME = "same"


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: tuple[str, ...]
    target: str
    perm: str
    note_required: bool
    clock: str | None  # the stage clock started by the action (None: the clock is unchanged)
    actor: str  # who acts: "center" (owning center), "department" (an assigned department), "any"
    description: str
    # the case kinds the action exists for; empty: every kind. A kind-specific action's handler is
    # registered by the app that owns that kind (``services.register_handler``: disputes).
    kinds: tuple[str, ...] = ()

    def applies_to(self, kind: str | None) -> bool:
        return not self.kinds or kind in self.kinds


OPEN = (S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.HANDLING, S.RESOLVED, S.REPLIED)
# where a dispute's mediation agreement may exist (after a mediation round), archived included
AGREED = (S.ACCEPTED, S.DISPATCHED, S.HANDLING, S.RESOLVED, S.REPLIED, S.ARCHIVED)
DISPUTE = ("dispute",)

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        "accept",
        gettext_noop("受理"),
        (S.REPORTED,),
        S.ACCEPTED,
        Perm.CASE_ACCEPT,
        False,
        Stage.DISPATCH,
        "center",
        "The owning center registers the case; the dispatch clock starts (24 h, urgent 1 h).",
    ),
    Transition(
        "decline",
        gettext_noop("不予受理"),
        (S.REPORTED,),
        S.DECLINED,
        Perm.CASE_ACCEPT,
        True,
        Stage.NONE,
        "center",
        "Not within the center's remit; the reason is recorded and told to the reporter. Final.",
    ),
    Transition(
        "merge",
        gettext_noop("合并重复件"),
        (S.REPORTED, S.ACCEPTED),
        S.DECLINED,
        Perm.CASE_ACCEPT,
        False,
        Stage.NONE,
        "center",
        "A duplicate of an open master case: declined with reason 'duplicate', linked to the master.",
    ),
    Transition(
        "escalate",
        gettext_noop("上报"),
        (S.REPORTED, S.ACCEPTED),
        S.REPORTED,
        Perm.CASE_DISPATCH,
        True,
        Stage.ACCEPT,
        "center",
        "Handed up to the parent region's center, which accepts and dispatches at its level.",
    ),
    Transition(
        "dispatch",
        gettext_noop("分流派单"),
        (S.ACCEPTED,),
        S.DISPATCHED,
        Perm.CASE_DISPATCH,
        False,
        Stage.ACKNOWLEDGE,
        "center",
        "Assign a lead department (and assisting ones) with a deadline; the rule in force "
        "at dispatch time for the case's region suggests them.",
    ),
    Transition(
        "acknowledge",
        gettext_noop("签收"),
        (S.DISPATCHED,),
        S.HANDLING,
        Perm.CASE_HANDLE,
        False,
        Stage.HANDLE,
        "department",
        "The lead department takes the case; the handling clock starts (7 or 15 working days).",
    ),
    Transition(
        "return",
        gettext_noop("退回"),
        (S.DISPATCHED, S.HANDLING),
        S.ACCEPTED,
        Perm.CASE_HANDLE,
        True,
        Stage.DISPATCH,
        "department",
        "The lead department sends a wrongly dispatched case back to the center for re-dispatch.",
    ),
    Transition(
        "report_part",
        gettext_noop("报送协办结果"),
        (S.DISPATCHED, S.HANDLING),
        SAME,
        Perm.CASE_HANDLE,
        True,
        None,
        "department",
        "An assisting department reports its part of the work.",
    ),
    Transition(
        "request_extension",
        gettext_noop("申请延期"),
        (S.HANDLING,),
        SAME,
        Perm.CASE_HANDLE,
        True,
        None,
        "department",
        "The lead department asks for a later handling deadline, with reason.",
    ),
    Transition(
        "approve_extension",
        gettext_noop("批准延期"),
        (S.HANDLING,),
        SAME,
        Perm.CASE_APPROVE_EXTENSION,
        False,
        None,
        "center",
        "The center approves: the handling deadline moves to the requested time.",
    ),
    Transition(
        "reject_extension",
        gettext_noop("驳回延期"),
        (S.HANDLING,),
        SAME,
        Perm.CASE_APPROVE_EXTENSION,
        True,
        None,
        "center",
        "The center refuses the extension, with reason; the deadline stays.",
    ),
    Transition(
        "resolve",
        gettext_noop("办结"),
        (S.HANDLING,),
        S.RESOLVED,
        Perm.CASE_HANDLE,
        True,
        Stage.REPLY,
        "department",
        "The lead department reports the result; every assisting part must be in unless the center "
        "overrides (recorded). The reply clock starts (24 h).",
    ),
    Transition(
        "reply",
        gettext_noop("反馈"),
        (S.RESOLVED,),
        S.REPLIED,
        Perm.CASE_REPLY,
        True,
        Stage.RATE,
        "center",
        "The center tells the reporter the result (how, recorded); the rating window opens.",
    ),
    Transition(
        "rate",
        gettext_noop("评价"),
        (S.REPLIED,),
        SAME,
        Perm.CASE_CALLBACK,
        False,
        None,
        "any",
        "Satisfied / basically satisfied / unsatisfied, by the reporter (tracking code) or a callback "
        "operator. Unsatisfied reopens the case automatically up to the reopen limit.",
    ),
    Transition(
        "reopen",
        gettext_noop("重办"),
        (S.REPLIED,),
        S.HANDLING,
        Perm.CASE_DISPATCH,
        True,
        Stage.HANDLE,
        "center",
        "Back to the lead department with a new handling deadline; counted in assessment.",
    ),
    Transition(
        "archive",
        gettext_noop("归档"),
        (S.REPLIED,),
        S.ARCHIVED,
        Perm.CASE_ARCHIVE,
        False,
        Stage.NONE,
        "center",
        "Closed for good: after rating, or after the rating window with no rating (recorded 'not rated').",
    ),
    Transition(
        "supervise",
        gettext_noop("督办"),
        OPEN,
        SAME,
        Perm.CASE_SUPERVISE,
        True,
        None,
        "any",
        "A leader opens a supervision notice by hand.",
    ),
    # --- disputes (kind ``dispute``; handlers in ``zongzhi.disputes.workflow``) -----------------------
    Transition(
        "assess_risk",
        gettext_noop("风险评估"),
        OPEN,
        SAME,
        Perm.DISPUTE_MEDIATE,
        False,
        None,
        "any",
        "Dispute: record the risk level (low/medium/high/major) and the escalation-risk flags "
        "(民转刑 signals), each with who assessed it and when; high risk suggests escalation.",
        DISPUTE,
    ),
    Transition(
        "mediate",
        gettext_noop("组织调解"),
        (S.ACCEPTED,),
        S.HANDLING,
        Perm.CASE_DISPATCH,
        False,
        Stage.HANDLE,
        "center",
        "Dispute: open a mediation round (七调: type, lead mediator, participating mediators, the "
        "mediating unit as lead department); the handling clock starts.",
        DISPUTE,
    ),
    Transition(
        "mediation_session",
        gettext_noop("调解记录"),
        (S.HANDLING,),
        SAME,
        Perm.DISPUTE_MEDIATE,
        True,
        None,
        "any",
        "Dispute: record a mediation session (time, place, attendees; the note is the minutes; "
        "attachments allowed).",
        DISPUTE,
    ),
    Transition(
        "mediation_agree",
        gettext_noop("调解成功"),
        (S.HANDLING,),
        S.RESOLVED,
        Perm.DISPUTE_MEDIATE,
        False,
        Stage.REPLY,
        "any",
        "Dispute: agreement reached (facts, terms, performance deadline); the mediation agreement "
        "(调解协议书) is issued and the dispute counts as resolved (化解).",
        DISPUTE,
    ),
    Transition(
        "mediation_partial",
        gettext_noop("部分达成协议"),
        (S.HANDLING,),
        S.ACCEPTED,
        Perm.DISPUTE_MEDIATE,
        True,
        Stage.DISPATCH,
        "any",
        "Dispute: an agreement on part of the matter (issued as an agreement); the rest goes back "
        "to the center (note: what remains), which mediates again, escalates or transfers.",
        DISPUTE,
    ),
    Transition(
        "mediation_fail",
        gettext_noop("调解不成"),
        (S.HANDLING,),
        S.ACCEPTED,
        Perm.DISPUTE_MEDIATE,
        True,
        Stage.DISPATCH,
        "any",
        "Dispute: the mediation round failed (reason); back to the center, which mediates again, "
        "escalates (上报) or transfers.",
        DISPUTE,
    ),
    Transition(
        "withdraw",
        gettext_noop("撤回调解申请"),
        (S.HANDLING,),
        S.RESOLVED,
        Perm.DISPUTE_MEDIATE,
        True,
        Stage.REPLY,
        "any",
        "Dispute: the applicant withdraws (statement in the note); the mediation ends as withdrawn.",
        DISPUTE,
    ),
    Transition(
        "transfer",
        gettext_noop("依法移交"),
        (S.ACCEPTED, S.HANDLING),
        S.RESOLVED,
        Perm.CASE_DISPATCH,
        True,
        Stage.REPLY,
        "center",
        "Dispute: after a failed mediation, transferred to court litigation, arbitration, the "
        "police or a department, with the receiving body and its reference number.",
        DISPUTE,
    ),
    Transition(
        "judicial_confirm",
        gettext_noop("司法确认"),
        AGREED,
        SAME,
        Perm.DISPUTE_MEDIATE,
        False,
        None,
        "any",
        "Dispute: track the judicial confirmation (司法确认) of an agreement: applied, confirmed "
        "or rejected, with the court and its reference.",
        DISPUTE,
    ),
    Transition(
        "followup",
        gettext_noop("履行回访"),
        AGREED,
        SAME,
        Perm.DISPUTE_MEDIATE,
        False,
        None,
        "any",
        "Dispute: follow up the performance of an agreement (回访): performed, partly performed "
        "(next follow-up date) or not performed, which reopens a resolved dispute.",
        DISPUTE,
    ),
    Transition(
        "reopen_dispute",
        gettext_noop("不履行重启"),
        (S.RESOLVED, S.REPLIED, S.ARCHIVED),
        S.ACCEPTED,
        Perm.CASE_DISPATCH,
        True,
        Stage.DISPATCH,
        "center",
        "Dispute: the agreement was not performed; the dispute is open again at the center "
        "(mediate again, escalate or transfer). Run by the system after a 'not performed' follow-up.",
        DISPUTE,
    ),
)

BY_ACTION: dict[str, Transition] = {t.action: t for t in TRANSITIONS}
# Actions the sweep or intake perform themselves (not offered to users, still on the timeline).
SYSTEM_ACTIONS = {
    "report": gettext_noop("登记"),
    "resolve_on_site": gettext_noop("自行处置"),
    "remind": gettext_noop("催办"),
    "supervise_auto": gettext_noop("超期督办"),
    "list": gettext_noop("挂牌督办"),
    "auto_archive": gettext_noop("逾期未评价归档"),
    "supervision_reply": gettext_noop("督办回复"),
    "deadline_recompute": gettext_noop("时限重算"),
}


def action_label(action: str) -> str:
    """The action's label in the active language (the table keeps the Chinese source text)."""
    t = BY_ACTION.get(action)
    label = t.label if t is not None else SYSTEM_ACTIONS.get(action, action)
    return gettext(label) if label else label


def transition_for(action: str) -> Transition | None:
    return BY_ACTION.get(action)


def allowed_actions(state: str, kind: str | None = None) -> list[Transition]:
    """The moves the table allows from ``state`` for a case of ``kind``; without a kind, only the
    actions every kind has (the generic case pages offer those)."""
    return [t for t in TRANSITIONS if state in t.sources and t.applies_to(kind)]


def target_state(transition: Transition, current: str) -> str:
    return current if transition.target == SAME else transition.target


def render_markdown() -> str:
    """``docs/workflows/case.md``: the table above, for people."""
    labels = dict(S.choices)
    lines = [
        "# Case workflow (generated — do not edit)",
        "",
        "Generated from `zongzhi/cases/states.py` by `manage.py render_workflow`. "
        "A test fails when this file is stale.",
        "",
        "States: " + ", ".join(f"`{v}` {labels[v]}" for v in S.values) + ".",
        "",
        "| action | 动作 | from | to | permission | actor | note required | starts clock | case kinds "
        "| what it does |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in TRANSITIONS:
        sources = ", ".join(f"`{s}`" for s in t.sources)
        target = "(unchanged)" if t.target == SAME else f"`{t.target}`"
        clock = "—" if t.clock is None else ("stops" if t.clock == Stage.NONE else f"`{t.clock}`")
        lines.append(
            f"| `{t.action}` | {t.label} | {sources} | {target} | `{t.perm}` | {t.actor} | "
            f"{'yes' if t.note_required else 'no'} | {clock} | "
            f"{', '.join(f'`{k}`' for k in t.kinds) or 'all'} | {t.description} |"
        )
    lines += [
        "",
        "System actions (performed by intake and the deadline sweep, recorded on the timeline): "
        + ", ".join(f"`{k}` {v}" for k, v in SYSTEM_ACTIONS.items())
        + ".",
        "",
        "```mermaid",
        "stateDiagram-v2",
    ]
    seen = set()
    for t in TRANSITIONS:
        for s in t.sources:
            target = s if t.target == SAME else t.target
            edge = (s, target, t.action)
            if edge not in seen and target != s:
                seen.add(edge)
                lines.append(f"    {s} --> {target}: {t.action}")
    lines += ["```", ""]
    return "\n".join(lines)
