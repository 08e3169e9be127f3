"""Web forms of disputes. They shape and check input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from zongzhi.cases.forms import (
    FeedbackActionForm,
    MultipleFileField,
    MultipleFileInput,
    apply_error,
    to_uploads,
)
from zongzhi.cases.models import Channel, Urgency

from . import services
from .models import (
    DisputeType,
    Gender,
    IdType,
    JudicialStatus,
    MediationType,
    MediatorBody,
    PartyKind,
    PartyRole,
    Performance,
    RiskFlagType,
    RiskLevel,
    TransferTarget,
)

_TEXT = {"class": "form-control"}
_SELECT = {"class": "form-select"}
_DATETIME_ERRORS = {"invalid": _("请按“年-月-日 时:分”填写时间。")}
_DATE_ERRORS = {"invalid": _("请按“年-月-日”填写日期。")}

__all__ = ["apply_error", "to_uploads"]


def _type_choices() -> list[tuple[str, Any]]:
    return [("", _("请选择")), *((t.code, t.name) for t in DisputeType.objects.filter(is_active=True))]


def _flag_choices() -> list[tuple[str, str]]:
    return [(f.code, f.name) for f in RiskFlagType.objects.filter(is_active=True)]


def _region_code(value: str) -> str:
    code = (value or "").strip().split(" ")[0]
    if not code.isdigit() or len(code) != 12:
        raise forms.ValidationError(_("请从列表中选择区域（12位区划代码）。"))
    return code


class PartyForm(forms.Form):
    role = forms.ChoiceField(
        label=_("身份"),
        choices=[("", "—"), *PartyRole.choices],
        error_messages={"required": _("请选择当事人身份。")},
        widget=forms.Select(attrs=_SELECT),
    )
    kind = forms.ChoiceField(
        label=_("类别"),
        choices=PartyKind.choices,
        initial=PartyKind.PERSON,
        widget=forms.Select(attrs=_SELECT),
    )
    name = forms.CharField(
        label=_("姓名/名称"),
        max_length=100,
        error_messages={"required": _("请填写当事人姓名或名称。")},
        widget=forms.TextInput(attrs=_TEXT),
    )
    gender = forms.ChoiceField(
        label=_("性别"),
        required=False,
        choices=[("", "—"), *Gender.choices],
        widget=forms.Select(attrs=_SELECT),
    )
    ethnicity = forms.CharField(
        label=_("民族"), max_length=20, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    id_type = forms.ChoiceField(
        label=_("证件类型"),
        required=False,
        choices=[("", _("自动（身份证/信用代码）")), *IdType.choices],
        widget=forms.Select(attrs=_SELECT),
    )
    id_number = forms.CharField(
        label=_("证件号码"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={**_TEXT, "autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("联系电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={**_TEXT, "inputmode": "tel"}),
    )
    address = forms.CharField(
        label=_("住址"), max_length=200, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    representative = forms.CharField(
        label=_("法定代表人/代理人"), max_length=50, required=False, widget=forms.TextInput(attrs=_TEXT)
    )

    def to_input(self) -> services.PartyInput:
        d = self.cleaned_data
        return services.PartyInput(
            role=d["role"],
            kind=d.get("kind") or PartyKind.PERSON,
            name=d["name"],
            gender=d.get("gender", ""),
            ethnicity=d.get("ethnicity", ""),
            id_type=d.get("id_type", ""),
            id_number=d.get("id_number", ""),
            phone=d.get("phone", ""),
            address=d.get("address", ""),
            representative=d.get("representative", ""),
        )


class BasePartyFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def parties(self) -> list[services.PartyInput]:
        return [f.to_input() for f in self.forms if f.has_changed() and f.cleaned_data.get("name")]


PartyFormSet = forms.formset_factory(PartyForm, formset=BasePartyFormSet, extra=1, max_num=20)


def party_formset(data: Any = None, prefix: str = "parties") -> Any:
    initial = [{"role": PartyRole.APPLICANT}, {"role": PartyRole.RESPONDENT}]
    formset = PartyFormSet(data, prefix=prefix, initial=initial)
    for form in formset.forms[2:]:
        form.empty_permitted = True
    for form in formset.forms[:2]:
        form.empty_permitted = False
        form.use_required_attribute = False
    return formset


def _risk_level_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("风险等级"),
        choices=RiskLevel.choices,
        initial=RiskLevel.LOW,
        widget=forms.Select(attrs=_SELECT),
    )


def _flags_field() -> forms.MultipleChoiceField:
    """The 民转刑 risk signals; the choices are set per form instance (``_flag_choices``)."""
    return forms.MultipleChoiceField(
        label=_("民转刑风险信号"), required=False, widget=forms.CheckboxSelectMultiple
    )


class RiskFields(forms.Form):
    risk_level = _risk_level_field()
    flags = _flags_field()
    risk_note = forms.CharField(
        label=_("风险评估说明"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={**_TEXT, "rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["flags"].choices = _flag_choices()  # type: ignore[attr-defined]


class TypedRiskFields(RiskFields):
    """Risk fields and a ``dispute_type`` field (declared by the subclass) offering the configured
    dispute types."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dispute_type"].choices = _type_choices()  # type: ignore[attr-defined]


class DisputeIntakeForm(TypedRiskFields):
    """One-stop intake at the window (一站式受理)."""

    channel = forms.ChoiceField(
        label=_("来源渠道"),
        choices=Channel.choices,
        initial=Channel.WALK_IN,
        widget=forms.Select(attrs=_SELECT),
    )
    dispute_type = forms.ChoiceField(
        label=_("纠纷类型"),
        error_messages={"required": _("请选择纠纷类型。")},
        widget=forms.Select(attrs=_SELECT),
    )
    title = forms.CharField(
        label=_("纠纷名称"),
        max_length=120,
        error_messages={"required": _("请填写纠纷名称。")},
        widget=forms.TextInput(attrs={**_TEXT, "placeholder": _("如：楼上漏水纠纷（不要写当事人姓名）")}),
    )
    description = forms.CharField(
        label=_("纠纷简要情况"),
        max_length=5000,
        error_messages={"required": _("请填写纠纷简要情况。")},
        widget=forms.Textarea(attrs={**_TEXT, "rows": 4}),
    )
    region = forms.CharField(
        label=_("纠纷发生地"),
        max_length=80,
        error_messages={"required": _("请选择纠纷发生地。")},
        widget=forms.TextInput(
            attrs={
                **_TEXT,
                "list": "region-options",
                "placeholder": _("输入名称检索，选择村（社区）"),
                "autocomplete": "off",
            }
        ),
    )
    address = forms.CharField(
        label=_("详细地址"), max_length=200, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    people_count = forms.IntegerField(
        label=_("涉及人数"),
        min_value=1,
        max_value=100000,
        initial=2,
        error_messages={"min_value": _("涉及人数至少为1。"), "invalid": _("涉及人数须为整数。")},
        widget=forms.NumberInput(attrs=_TEXT),
    )
    amount = forms.DecimalField(
        label=_("涉及金额（元）"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        error_messages={"invalid": _("涉及金额须为数字。"), "min_value": _("涉及金额不能为负数。")},
        widget=forms.NumberInput(attrs={**_TEXT, "step": "0.01"}),
    )
    urgency = forms.ChoiceField(
        label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.NORMAL, widget=forms.RadioSelect
    )
    accept = forms.BooleanField(label=_("当场受理（一站式受理）"), required=False, initial=True)

    def clean_region(self) -> str:
        return _region_code(self.cleaned_data["region"])


class FromCaseForm(TypedRiskFields):
    dispute_type = forms.ChoiceField(label=_("纠纷类型"), widget=forms.Select(attrs=_SELECT))
    people_count = forms.IntegerField(
        label=_("涉及人数"), min_value=1, max_value=100000, initial=2, widget=forms.NumberInput(attrs=_TEXT)
    )
    amount = forms.DecimalField(
        label=_("涉及金额（元）"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs=_TEXT),
    )


class GridDisputeForm(forms.Form):
    """A dispute found by a grid worker during a screening, on the phone: short, with two parties."""

    dispute_type = forms.ChoiceField(label=_("纠纷类型"), widget=forms.Select(attrs=_SELECT))
    title = forms.CharField(label=_("纠纷名称"), max_length=120, widget=forms.TextInput(attrs=_TEXT))
    description = forms.CharField(
        label=_("简要情况"), max_length=5000, widget=forms.Textarea(attrs={**_TEXT, "rows": 3})
    )
    applicant = forms.CharField(
        label=_("申请人（一方）姓名"), max_length=50, widget=forms.TextInput(attrs=_TEXT)
    )
    applicant_phone = forms.CharField(
        label=_("电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={**_TEXT, "inputmode": "tel"}),
    )
    respondent = forms.CharField(
        label=_("被申请人（另一方）姓名"), max_length=50, widget=forms.TextInput(attrs=_TEXT)
    )
    respondent_phone = forms.CharField(
        label=_("电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={**_TEXT, "inputmode": "tel"}),
    )
    people_count = forms.IntegerField(
        label=_("涉及人数"), min_value=1, max_value=100000, initial=2, widget=forms.NumberInput(attrs=_TEXT)
    )
    risk_level = _risk_level_field()
    flags = _flags_field()
    resolved_on_site = forms.BooleanField(label=_("已当场化解"), required=False)
    result = forms.CharField(
        label=_("化解情况"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={**_TEXT, "rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dispute_type"].choices = _type_choices()  # type: ignore[attr-defined]
        self.fields["flags"].choices = _flag_choices()  # type: ignore[attr-defined]

    def parties(self) -> list[services.PartyInput]:
        d = self.cleaned_data
        return [
            services.PartyInput(
                role=PartyRole.APPLICANT, name=d["applicant"], phone=d.get("applicant_phone", "")
            ),
            services.PartyInput(
                role=PartyRole.RESPONDENT, name=d["respondent"], phone=d.get("respondent_phone", "")
            ),
        ]


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("查看事由"), max_length=200, min_length=2, widget=forms.TextInput(attrs=_TEXT)
    )


class DisputeActionForm(FeedbackActionForm):
    """One form for every action offered on the dispute page; each action shows its own fields."""

    note = forms.CharField(
        label=_("说明"), max_length=5000, required=False, widget=forms.Textarea(attrs={**_TEXT, "rows": 3})
    )
    # assess_risk
    risk_level = forms.ChoiceField(
        label=_("风险等级"), required=False, choices=RiskLevel.choices, widget=forms.Select(attrs=_SELECT)
    )
    flags = forms.MultipleChoiceField(
        label=_("民转刑风险信号"), required=False, widget=forms.CheckboxSelectMultiple
    )
    # mediate
    mediation_type = forms.ChoiceField(
        label=_("调解类型（七调）"),
        required=False,
        choices=[("", _("请选择")), *MediationType.choices],
        widget=forms.Select(attrs=_SELECT),
    )
    lead_mediator = forms.TypedChoiceField(
        label=_("主持调解员"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs=_SELECT),
    )
    mediators = forms.TypedMultipleChoiceField(
        label=_("参与调解员"),
        required=False,
        coerce=int,
        widget=forms.SelectMultiple(attrs={**_SELECT, "size": 5}),
    )
    department = forms.TypedChoiceField(
        label=_("调解组织"), required=False, coerce=int, empty_value=None, widget=forms.Select(attrs=_SELECT)
    )
    handle_due_at = forms.DateTimeField(
        label=_("调解期限"),
        required=False,
        error_messages=_DATETIME_ERRORS,
        widget=forms.DateTimeInput(attrs={**_TEXT, "type": "datetime-local"}),
    )
    # mediation_session
    held_at = forms.DateTimeField(
        label=_("调解时间"),
        required=False,
        error_messages=_DATETIME_ERRORS,
        widget=forms.DateTimeInput(attrs={**_TEXT, "type": "datetime-local"}),
    )
    place = forms.CharField(
        label=_("调解地点"), max_length=120, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    attendees = forms.CharField(
        label=_("参加人员"), max_length=1000, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    attachments = MultipleFileField(
        label=_("附件（笔录、照片等）"), widget=MultipleFileInput(attrs={"class": "form-control"})
    )
    # agreements
    facts = forms.CharField(
        label=_("纠纷主要事实、争议事项"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={**_TEXT, "rows": 3}),
    )
    terms = forms.CharField(
        label=_("协议内容"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={**_TEXT, "rows": 4}),
    )
    performance_method = forms.CharField(
        label=_("履行方式"), max_length=200, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    performance_deadline = forms.DateField(
        label=_("履行期限"),
        required=False,
        error_messages=_DATE_ERRORS,
        widget=forms.DateInput(attrs={**_TEXT, "type": "date"}),
    )
    # transfer
    transfer_to = forms.ChoiceField(
        label=_("移交去向"),
        required=False,
        choices=[("", _("请选择")), *TransferTarget.choices],
        widget=forms.Select(attrs=_SELECT),
    )
    receiving_body = forms.CharField(
        label=_("接收单位"), max_length=120, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    reference_number = forms.CharField(
        label=_("接收文号/案号"), max_length=60, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    # judicial_confirm / followup
    agreement = forms.TypedChoiceField(
        label=_("调解协议书"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs=_SELECT),
    )
    status = forms.ChoiceField(
        label=_("司法确认状态"),
        required=False,
        choices=[(v, label) for v, label in JudicialStatus.choices if v != JudicialStatus.NONE],
        widget=forms.Select(attrs=_SELECT),
    )
    court = forms.CharField(
        label=_("人民法院"), max_length=120, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    reference = forms.CharField(
        label=_("司法确认文书号"), max_length=60, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    performance = forms.ChoiceField(
        label=_("履行情况"),
        required=False,
        choices=[(v, label) for v, label in Performance.choices if v != Performance.PENDING],
        widget=forms.Select(attrs=_SELECT),
    )
    next_followup_on = forms.DateField(
        label=_("下次回访日期"),
        required=False,
        error_messages=_DATE_ERRORS,
        widget=forms.DateInput(attrs={**_TEXT, "type": "date"}),
    )

    FIELDS: dict[str, tuple[str, ...]] = {
        "assess_risk": ("risk_level", "flags", "note"),
        "mediate": ("mediation_type", "lead_mediator", "mediators", "department", "handle_due_at"),
        "mediation_session": ("held_at", "place", "attendees", "note", "attachments"),
        "mediation_agree": ("facts", "terms", "performance_method", "performance_deadline", "note"),
        "mediation_partial": ("facts", "terms", "performance_method", "performance_deadline", "note"),
        "mediation_fail": ("note",),
        "withdraw": ("note",),
        "transfer": ("transfer_to", "receiving_body", "reference_number", "department", "note"),
        "judicial_confirm": ("agreement", "status", "court", "reference"),
        "followup": ("agreement", "performance", "next_followup_on", "note"),
        "reopen_dispute": ("note",),
        "accept": (),
        "decline": ("note",),
        "escalate": ("note",),
        "reply": ("method", "note"),
        "rate": ("rating", "comment"),
        "archive": (),
        "supervise": ("kind", "note"),
    }
    NOTE_LABELS: dict[str, Any] = {
        "mediation_session": _("调解笔录"),
        "mediation_partial": _("未达成协议的事项"),
        "mediation_fail": _("调解不成的原因"),
        "withdraw": _("撤回申请的说明"),
        "transfer": _("移交理由"),
        "followup": _("回访情况"),
        "reopen_dispute": _("未履行情况"),
        "decline": _("不予受理原因"),
        "escalate": _("上报理由"),
        "reply": _("答复内容"),
        "mediation_agree": _("调解结果说明（可选）"),
    }

    def __init__(
        self,
        *args: Any,
        mediators: list[tuple[int, str]] | None = None,
        departments: list[tuple[int, str]] | None = None,
        agreements: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["flags"].choices = _flag_choices()  # type: ignore[attr-defined]
        self.fields["lead_mediator"].choices = [("", _("请选择")), *(mediators or [])]  # type: ignore[attr-defined]
        self.fields["mediators"].choices = mediators or []  # type: ignore[attr-defined]
        self.fields["department"].choices = [("", _("默认：主持调解员所在组织")), *(departments or [])]  # type: ignore[attr-defined]
        self.fields["agreement"].choices = [("", _("最近一份")), *(agreements or [])]  # type: ignore[attr-defined]

    def service_data(self, action: str) -> dict[str, Any]:
        shared = self.feedback_data(action)
        if shared is not None:
            return shared
        d = self.cleaned_data

        def iso(value: Any) -> Any:
            return value.isoformat() if value is not None else None

        if action == "assess_risk":
            return {"risk_level": d.get("risk_level"), "flags": list(d.get("flags") or [])}
        if action == "mediate":
            return {
                "mediation_type": d.get("mediation_type"),
                "lead_mediator_id": d.get("lead_mediator"),
                "mediator_ids": list(d.get("mediators") or []),
                "department_id": d.get("department"),
                "handle_due_at": iso(d.get("handle_due_at")),
            }
        if action == "mediation_session":
            return {
                "held_at": iso(d.get("held_at")),
                "place": d.get("place"),
                "attendees": d.get("attendees"),
            }
        if action in ("mediation_agree", "mediation_partial"):
            return {
                "facts": d.get("facts"),
                "terms": d.get("terms"),
                "performance_method": d.get("performance_method"),
                "performance_deadline": iso(d.get("performance_deadline")),
            }
        if action == "transfer":
            return {
                "transfer_to": d.get("transfer_to"),
                "receiving_body": d.get("receiving_body"),
                "reference_number": d.get("reference_number"),
                "receiving_department_id": d.get("department"),
            }
        if action == "judicial_confirm":
            return {
                "agreement_id": d.get("agreement"),
                "status": d.get("status"),
                "court": d.get("court"),
                "reference": d.get("reference"),
            }
        if action == "followup":
            return {
                "agreement_id": d.get("agreement"),
                "performance": d.get("performance"),
                "next_followup_on": iso(d.get("next_followup_on")),
            }
        return {}


FIELD_MAP = {
    "lead_mediator_id": "lead_mediator",
    "mediator_ids": "mediators",
    "department_id": "department",
    "receiving_department_id": "department",
    "agreement_id": "agreement",
    "region_code": "region",
}


def show_error(form: forms.Form, exc: Any) -> None:
    """A service error on the field it names (when the form has it), else on the form."""
    name = getattr(exc, "field", None)
    name = FIELD_MAP.get(name, name) if name else None
    if name and "." in name:
        name = name.rsplit(".", 1)[-1]
    if name and name in form.fields:
        form.add_error(name, str(exc.message))
    else:
        form.add_error(None, str(exc.message))


class MediatorForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50, widget=forms.TextInput(attrs=_TEXT))
    body_kind = forms.ChoiceField(
        label=_("所属组织类别"), choices=MediatorBody.choices, widget=forms.Select(attrs=_SELECT)
    )
    body_name = forms.CharField(label=_("所属组织"), max_length=120, widget=forms.TextInput(attrs=_TEXT))
    region = forms.CharField(
        label=_("所在区域"),
        max_length=80,
        widget=forms.TextInput(
            attrs={**_TEXT, "list": "region-options", "placeholder": _("输入名称检索"), "autocomplete": "off"}
        ),
    )
    department = forms.TypedChoiceField(
        label=_("关联单位"), required=False, coerce=int, empty_value=None, widget=forms.Select(attrs=_SELECT)
    )
    specialties = forms.MultipleChoiceField(
        label=_("擅长纠纷类型"), required=False, widget=forms.CheckboxSelectMultiple
    )
    specialty_note = forms.CharField(
        label=_("专长说明"), max_length=200, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    title = forms.CharField(
        label=_("称号（如金牌调解员）"), max_length=40, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    phone = forms.CharField(
        label=_("工作电话"), max_length=20, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    is_active = forms.BooleanField(label=_("在册"), required=False, initial=True)

    def __init__(self, *args: Any, departments: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        specialties = [(t.code, t.name) for t in DisputeType.objects.filter(is_active=True)]
        self.fields["specialties"].choices = specialties  # type: ignore[attr-defined]
        self.fields["department"].choices = [("", _("无")), *(departments or [])]  # type: ignore[attr-defined]

    def clean_region(self) -> str:
        return _region_code(self.cleaned_data["region"])

    def to_input(self) -> services.MediatorInput:
        d = self.cleaned_data
        return services.MediatorInput(
            name=d["name"],
            body_kind=d["body_kind"],
            body_name=d["body_name"],
            region_code=d["region"],
            department_id=d.get("department"),
            specialty_codes=list(d.get("specialties") or []),
            specialty_note=d.get("specialty_note", ""),
            title=d.get("title", ""),
            phone=d.get("phone", ""),
            is_active=bool(d.get("is_active")),
        )


class CampaignForm(forms.Form):
    region = forms.ChoiceField(label=_("乡镇（街道）"), widget=forms.Select(attrs=_SELECT))
    period_start = forms.DateField(
        label=_("开始日期"),
        error_messages=_DATE_ERRORS,
        widget=forms.DateInput(attrs={**_TEXT, "type": "date"}),
    )
    period_end = forms.DateField(
        label=_("结束日期"),
        error_messages=_DATE_ERRORS,
        widget=forms.DateInput(attrs={**_TEXT, "type": "date"}),
    )
    title = forms.CharField(
        label=_("名称（可不填）"), max_length=100, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    note = forms.CharField(
        label=_("排查要求"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={**_TEXT, "rows": 2}),
    )

    def __init__(self, *args: Any, townships: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = townships or []  # type: ignore[attr-defined]


class NoneFoundForm(forms.Form):
    note = forms.CharField(
        label=_("情况说明（可不填）"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={**_TEXT, "rows": 2}),
    )
