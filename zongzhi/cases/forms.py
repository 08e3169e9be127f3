"""Web forms of the loop. They only shape and check input; the services decide."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile as DjangoUpload
from django.utils.translation import gettext_lazy as _

from zongzhi.core.errors import DomainError, FieldError

from .attachments import MAX_FILES, UploadedFile
from .models import CaseKind, Channel, Rating, SupervisionKind, Urgency

_TEXT = {"class": "form-control"}
# the ratings a person may give (not_rated is recorded by the system only)
RATING_CHOICES = [
    (r.value, r.label) for r in (Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.UNSATISFIED)
]
_SELECT = {"class": "form-select"}
_LON_RANGE = _("经度须为 73 到 136 之间的数字（中国境内）。")
_LAT_RANGE = _("纬度须为 3 到 54 之间的数字（中国境内）。")
_LON_ERRORS = {"min_value": _LON_RANGE, "max_value": _LON_RANGE, "invalid": _LON_RANGE}
_LAT_ERRORS = {"min_value": _LAT_RANGE, "max_value": _LAT_RANGE, "invalid": _LAT_RANGE}
_DATETIME_ERRORS = {"invalid": _("请按“年-月-日 时:分”填写时间。")}
# an HTML tag (<script>, <img …>, </a>, <!-- …): free text keeps it as text, a title refuses it
_MARKUP = re.compile(r"<\s*[/!]?\s*[a-zA-Z!-][^>]*>")


def _no_markup(value: str) -> None:
    if _MARKUP.search(value or ""):
        raise forms.ValidationError(_("标题不能包含 HTML 标签（如 script）。"), code="markup")


def _title_field() -> forms.CharField:
    return forms.CharField(
        label=_("标题"),
        max_length=120,
        validators=[_no_markup],
        error_messages={"required": _("请填写标题。")},
        widget=forms.TextInput(attrs=_TEXT),
    )


def _check_coordinates(form: forms.Form, data: dict[str, Any]) -> None:
    # Only when neither has its own error (an out-of-range value is not a missing one).
    both_valid = "lon" not in form.errors and "lat" not in form.errors
    if both_valid and (data.get("lon") is None) != (data.get("lat") is None):
        form.add_error("lon", _("经度和纬度须同时填写。"))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > MAX_FILES:
            raise forms.ValidationError(_("最多上传 %(n)d 个文件。") % {"n": MAX_FILES})
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def to_uploads(files: list[DjangoUpload]) -> list[UploadedFile]:
    return [
        UploadedFile(name=f.name or "file", content=f.read(), content_type=f.content_type or "")
        for f in files
    ]


def apply_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's error on the form: on the named field when the form has it."""
    field = getattr(exc, "field", None)
    mapping = {
        "category_code": "category",
        "region_code": "region",
        "lead_department_id": "lead_department",
        "assisting_department_ids": "assisting_departments",
        "Idempotency-Key": None,
    }
    name = mapping.get(field, field) if field else None
    if name and name in form.fields:
        form.add_error(name, str(exc.message))
    else:
        form.add_error(None, str(exc.message))


class IntakeForm(forms.Form):
    """Walk-in / hotline registration: fast to fill during a phone call."""

    channel = forms.ChoiceField(
        label=_("渠道"), choices=Channel.choices, initial=Channel.HOTLINE, widget=forms.Select(attrs=_SELECT)
    )
    kind = forms.ChoiceField(
        label=_("类型"), choices=CaseKind.choices, initial=CaseKind.EVENT, widget=forms.Select(attrs=_SELECT)
    )
    category = forms.CharField(
        label=_("事项分类"),
        required=False,
        # the suggestion list fills in "<code> <name>"; clean_category keeps the code
        max_length=80,
        widget=forms.TextInput(
            attrs={
                **_TEXT,
                "list": "category-options",
                "placeholder": _("输入编码或关键词检索"),
                "autocomplete": "off",
            }
        ),
    )
    urgency = forms.ChoiceField(
        label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.NORMAL, widget=forms.RadioSelect
    )
    title = _title_field()
    description = forms.CharField(
        label=_("具体内容"),
        max_length=5000,
        error_messages={"required": _("请填写具体内容。")},
        widget=forms.Textarea(attrs={**_TEXT, "rows": 4}),
    )
    region = forms.CharField(
        label=_("所在区域"),
        # the suggestion list fills in "<code> <name>"; clean_region keeps the 12-digit code
        max_length=80,
        error_messages={"required": _("请选择所在区域。")},
        widget=forms.TextInput(
            attrs={
                **_TEXT,
                "list": "region-options",
                "placeholder": _("输入名称检索，选择乡镇（街道）或村（社区）"),
                "autocomplete": "off",
            }
        ),
    )
    address = forms.CharField(
        label=_("地址"), max_length=200, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    lon = forms.FloatField(
        label=_("经度"),
        required=False,
        min_value=73,
        max_value=136,
        error_messages=_LON_ERRORS,
        widget=forms.NumberInput(attrs={**_TEXT, "step": "any"}),
    )
    lat = forms.FloatField(
        label=_("纬度"),
        required=False,
        min_value=3,
        max_value=54,
        error_messages=_LAT_ERRORS,
        widget=forms.NumberInput(attrs={**_TEXT, "step": "any"}),
    )
    is_anonymous = forms.BooleanField(label=_("匿名"), required=False)
    reporter_name = forms.CharField(
        label=_("反映人姓名"), max_length=50, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    reporter_phone = forms.CharField(
        label=_("联系电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={**_TEXT, "inputmode": "tel"}),
    )
    external_ref = forms.CharField(
        label=_("外部工单号"), max_length=40, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    attachments = MultipleFileField(
        label=_("附件（图片、PDF等）"), widget=MultipleFileInput(attrs={"class": "form-control"})
    )

    def clean_region(self) -> str:
        value: str = self.cleaned_data["region"].strip()
        code = value.split(" ")[0]
        if not code.isdigit() or len(code) != 12:
            raise forms.ValidationError(_("请从列表中选择区域（12位区划代码）。"))
        return code

    def clean_category(self) -> str:
        value: str = self.cleaned_data["category"].strip()
        return value.split(" ")[0]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_coordinates(self, data)
        return data


class MobileReportForm(IntakeForm):
    """A grid worker's report from the phone: may be resolved on the spot (自行处置)."""

    channel = forms.ChoiceField(  # always 网格巡查 (patrol)
        choices=Channel.choices, required=False, initial=Channel.PATROL, widget=forms.HiddenInput
    )
    resolved_on_site = forms.BooleanField(label=_("已自行处置"), required=False)
    result = forms.CharField(
        label=_("处置结果"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={**_TEXT, "rows": 3}),
    )


class PublicReportForm(forms.Form):
    category = forms.CharField(
        label=_("事项类别"), required=False, max_length=16, widget=forms.Select(attrs=_SELECT)
    )
    title = _title_field()
    description = forms.CharField(
        label=_("具体情况"),
        max_length=5000,
        error_messages={"required": _("请填写具体内容。")},
        widget=forms.Textarea(attrs={**_TEXT, "rows": 5}),
    )
    region = forms.CharField(
        label=_("所在区域"),
        max_length=12,
        error_messages={"required": _("请选择所在区域。")},
        widget=forms.Select(attrs=_SELECT),
    )
    address = forms.CharField(
        label=_("详细地址"), max_length=200, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    lon = forms.FloatField(
        required=False, min_value=73, max_value=136, error_messages=_LON_ERRORS, widget=forms.HiddenInput
    )
    lat = forms.FloatField(
        required=False, min_value=3, max_value=54, error_messages=_LAT_ERRORS, widget=forms.HiddenInput
    )
    is_anonymous = forms.BooleanField(label=_("匿名反映"), required=False)
    reporter_name = forms.CharField(
        label=_("姓名"), max_length=50, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    reporter_phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={**_TEXT, "inputmode": "tel"}),
    )
    attachments = MultipleFileField(
        label=_("照片"), widget=MultipleFileInput(attrs={"class": "form-control", "accept": "image/*"})
    )
    consent = forms.BooleanField(
        label=_("我已阅读并同意《个人信息处理说明》"),
        error_messages={"required": _("请阅读并同意个人信息处理说明。")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_coordinates(self, data)
        if not data.get("is_anonymous") and not (data.get("reporter_phone") or "").strip():
            self.add_error("reporter_phone", _("请填写手机号，或选择匿名反映。"))
        return data


class TrackForm(forms.Form):
    number = forms.CharField(label=_("事项编号"), max_length=20, widget=forms.TextInput(attrs=_TEXT))
    code = forms.CharField(label=_("查询码"), max_length=16, widget=forms.TextInput(attrs=_TEXT))


class PublicRatingForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("评价"),
        widget=forms.RadioSelect,
        choices=RATING_CHOICES,
    )
    comment = forms.CharField(
        label=_("意见（可选）"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={**_TEXT, "rows": 2}),
    )


class FeedbackActionForm(forms.Form):
    """The actions a case and a dispute share — reply to the reporter, rate, supervise: their
    fields, their service data, and the per-action field lists (``FIELDS`` of the subclass)."""

    FIELDS: dict[str, tuple[str, ...]] = {}
    # the label of the note field where an action names it otherwise
    NOTE_LABELS: dict[str, Any] = {}

    method = forms.ChoiceField(
        label=_("反馈方式"),
        required=False,
        choices=[("phone", _("电话")), ("sms", _("短信")), ("visit", _("上门")), ("online", _("网上"))],
        widget=forms.Select(attrs=_SELECT),
    )
    rating = forms.ChoiceField(
        label=_("评价"),
        required=False,
        choices=[("", "—"), *RATING_CHOICES],
        widget=forms.Select(attrs=_SELECT),
    )
    comment = forms.CharField(
        label=_("评价意见"), max_length=500, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    kind = forms.ChoiceField(
        label=_("督办类型"),
        required=False,
        choices=SupervisionKind.choices,
        initial=SupervisionKind.SUPERVISION,
        widget=forms.Select(attrs=_SELECT),
    )

    @classmethod
    def fields_for(cls, action: str) -> tuple[str, ...]:
        return cls.FIELDS.get(action, ("note",))

    def feedback_data(self, action: str) -> dict[str, Any] | None:
        """The service data of a shared action; ``None`` for any other action."""
        d = self.cleaned_data
        if action == "reply":
            return {"method": d.get("method", "")}
        if action == "rate":
            return {"rating": d.get("rating"), "comment": d.get("comment", ""), "by": "callback"}
        if action == "supervise":
            return {"kind": d.get("kind") or SupervisionKind.SUPERVISION}
        return None


class ActionForm(FeedbackActionForm):
    """One form for every action; the fields an action does not use are hidden by the template."""

    note = forms.CharField(
        label=_("说明"), max_length=5000, required=False, widget=forms.Textarea(attrs={**_TEXT, "rows": 2})
    )
    lead_department = forms.TypedChoiceField(
        label=_("牵头单位"), required=False, coerce=int, empty_value=None, widget=forms.Select(attrs=_SELECT)
    )
    assisting_departments = forms.TypedMultipleChoiceField(
        label=_("协办单位"),
        required=False,
        coerce=int,
        widget=forms.SelectMultiple(attrs={**_SELECT, "size": 4}),
    )
    handle_due_at = forms.DateTimeField(
        label=_("办理期限"),
        required=False,
        error_messages=_DATETIME_ERRORS,
        widget=forms.DateTimeInput(attrs={**_TEXT, "type": "datetime-local"}),
    )
    until = forms.DateTimeField(
        label=_("延期至"),
        required=False,
        error_messages=_DATETIME_ERRORS,
        widget=forms.DateTimeInput(attrs={**_TEXT, "type": "datetime-local"}),
    )
    master = forms.CharField(
        label=_("主案件编号"), max_length=20, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    override_parts = forms.BooleanField(label=_("协办未完成时由中心决定办结"), required=False)
    attachments = MultipleFileField(
        label=_("附件"), widget=MultipleFileInput(attrs={"class": "form-control"})
    )

    # which fields each action shows
    FIELDS: dict[str, tuple[str, ...]] = {
        "dispatch": ("lead_department", "assisting_departments", "handle_due_at", "note"),
        "request_extension": ("until", "note"),
        "approve_extension": ("until", "note"),
        "rate": ("rating", "comment"),
        "reply": ("method", "note"),
        "merge": ("master", "note"),
        "supervise": ("kind", "note"),
        "resolve": ("note", "attachments", "override_parts"),
    }
    NOTE_LABELS: dict[str, Any] = {
        "resolve": _("办理结果"),
        "reply": _("答复内容"),
        "decline": _("原因"),
        "return": _("原因"),
    }

    def __init__(self, *args: Any, departments: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = departments or []
        self.fields["lead_department"].choices = [("", _("按权责清单自动匹配")), *choices]  # type: ignore[attr-defined]
        self.fields["assisting_departments"].choices = choices  # type: ignore[attr-defined]

    def service_data(self, action: str) -> dict[str, Any]:
        shared = self.feedback_data(action)
        if shared is not None:
            return shared
        d = self.cleaned_data
        data: dict[str, Any] = {}
        if action == "dispatch":
            if d.get("lead_department"):
                data["lead_department_id"] = d["lead_department"]
                data["assisting_department_ids"] = [i for i in d.get("assisting_departments") or []]
            elif d.get("assisting_departments"):
                data["assisting_department_ids"] = list(d["assisting_departments"])
            if d.get("handle_due_at"):
                data["handle_due_at"] = d["handle_due_at"]
        elif action in ("request_extension", "approve_extension"):
            if d.get("until"):
                data["until"] = d["until"]
            elif action == "request_extension":
                raise FieldError("until", str(_("请填写申请延期至的时间。")), code="required")
        elif action == "merge":
            data["master"] = d.get("master", "").strip()
        elif action == "resolve" and d.get("override_parts"):
            data["override_parts"] = True
        return data


class SupervisionReplyForm(forms.Form):
    text = forms.CharField(
        label=_("回复内容"), max_length=5000, widget=forms.Textarea(attrs={**_TEXT, "rows": 2})
    )
