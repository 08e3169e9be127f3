"""Web forms for base data. They shape and check input; the services (and ``records``) decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zongzhi.core.errors import DomainError
from zongzhi.orgs.models import Grid, Region, RegionLevel, User
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import visible_to

from .groups import GROUP_FIELDS, SpecialGroup, group_perm
from .models import (
    AssistanceStatus,
    HouseUse,
    IdType,
    OrganizationKind,
    PlaceKind,
    ResidentType,
    Sex,
    UnmaskReason,
)
from .services import MAX_PHOTOS

_TEXT = {"class": "form-control"}
_SELECT = {"class": "form-select"}
_LON = _("经度须为-180到180之间的数字。")
_LAT = _("纬度须为-90到90之间的数字。")
_DATE = {"invalid": _("请按“年-月-日”填写日期。")}


def apply_error(form: forms.Form, exc: DomainError) -> None:
    """A service's error on the field it names (``details.x`` → ``d_x``), else on the form."""
    field = getattr(exc, "field", None) or ""
    name = "d_" + field.split(".", 1)[1] if field.startswith("details.") else field
    if name and name in form.fields:
        form.add_error(name, str(exc.message))
    else:
        form.add_error(None, str(exc.message))


def _regions(user: Any, perm: str) -> QuerySet[Region]:
    return (
        visible_to(user, Region, perm)
        .filter(level__in=[RegionLevel.VILLAGE, RegionLevel.TOWNSHIP])
        .order_by("path")
    )


def _grids(user: Any, perm: str) -> QuerySet[Grid]:
    return visible_to(user, Grid, perm).filter(is_active=True).select_related("village").order_by("code")


class RegionChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.code}）"


class GridChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.village.name} · {obj.name}"


class LocatedForm(forms.Form):
    """Region and grid choices limited to the user's scope (a grid decides the region)."""

    region = RegionChoiceField(
        label=_("所属村（社区）/街道"),
        queryset=Region.objects.none(),
        required=False,
        widget=forms.Select(attrs=_SELECT),
    )
    grid = GridChoiceField(
        label=_("网格"), queryset=Grid.objects.none(), required=False, widget=forms.Select(attrs=_SELECT)
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = _regions(user, Perm.PERSON_MANAGE)  # type: ignore[attr-defined]
        self.fields["grid"].queryset = _grids(user, Perm.PERSON_MANAGE)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("region") and not data.get("grid") and not self._has_other_location(data):
            self.add_error("region", _("请选择所属区域或网格。"))
        return data

    def _has_other_location(self, data: dict[str, Any]) -> bool:
        return data.get("lon") is not None and data.get("lat") is not None


def _coords() -> tuple[forms.FloatField, forms.FloatField]:
    lon = forms.FloatField(
        label=_("经度"),
        required=False,
        min_value=-180,
        max_value=180,
        error_messages={"min_value": _LON, "max_value": _LON, "invalid": _LON},
        widget=forms.NumberInput(attrs={**_TEXT, "step": "any"}),
    )
    lat = forms.FloatField(
        label=_("纬度"),
        required=False,
        min_value=-90,
        max_value=90,
        error_messages={"min_value": _LAT, "max_value": _LAT, "invalid": _LAT},
        widget=forms.NumberInput(attrs={**_TEXT, "step": "any"}),
    )
    return lon, lat


def _char(
    label: Any, max_length: int, *, required: bool = False, textarea: bool = False, **attrs: Any
) -> forms.CharField:
    widget = (
        forms.Textarea(attrs={**_TEXT, "rows": 3, **attrs})
        if textarea
        else forms.TextInput(attrs={**_TEXT, **attrs})
    )
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=widget,
        error_messages={
            "required": _("请填写{label}。").format(label=label),
            "max_length": _("{label}不能超过{n}个字。").format(label=label, n=max_length),
        },
    )


class ResidentForm(LocatedForm):
    id_type = forms.ChoiceField(
        label=_("证件类型"), choices=IdType.choices, widget=forms.Select(attrs=_SELECT)
    )
    id_number = _char(_("证件号码"), 30, autocomplete="off")
    name = _char(_("姓名"), 60, required=True, autocomplete="off")
    sex = forms.ChoiceField(
        label=_("性别（身份证可自动识别）"),
        choices=[("", "—"), *Sex.choices],
        required=False,
        widget=forms.Select(attrs=_SELECT),
    )
    birth_date = forms.DateField(
        label=_("出生日期（身份证可自动识别）"),
        required=False,
        error_messages=_DATE,
        widget=forms.DateInput(attrs={**_TEXT, "type": "date"}),
    )
    ethnicity = _char(_("民族"), 20)
    phone = _char(_("联系电话"), 20, inputmode="tel", autocomplete="off")
    resident_type = forms.ChoiceField(
        label=_("人口类型"), choices=ResidentType.choices, widget=forms.Select(attrs=_SELECT)
    )
    household_address = _char(_("户籍地址"), 200)
    current_address = _char(_("现住地址"), 200)
    house = forms.IntegerField(
        label=_("居住房屋编号"),
        required=False,
        min_value=1,
        error_messages={"invalid": _("房屋编号应为数字。"), "min_value": _("房屋编号应为正整数。")},
        widget=forms.NumberInput(attrs=_TEXT),
    )
    employment = _char(_("就业情况/工作单位"), 120)
    notes = _char(_("备注"), 2000, textarea=True)

    def __init__(
        self, *args: Any, editing: bool = False, masked: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            # the clear values are never sent to the browser: empty keeps the stored value
            for name in ("id_number", "phone"):
                self.fields[name].help_text = _("留空表示不修改")
                self.fields[name].widget.attrs["placeholder"] = (masked or {}).get(name, "")
        else:
            self.fields["id_number"].required = True
            self.fields["id_number"].error_messages["required"] = _("请填写证件号码。")

    def _has_other_location(self, data: dict[str, Any]) -> bool:
        return bool(data.get("house"))


class HouseForm(LocatedForm):
    address = _char(_("地址"), 200, required=True)
    building = _char(_("楼栋"), 20)
    unit = _char(_("单元"), 20)
    room = _char(_("房号"), 20)
    use = forms.ChoiceField(label=_("房屋用途"), choices=HouseUse.choices, widget=forms.Select(attrs=_SELECT))
    owner_name = _char(_("房主"), 60)
    owner_phone = _char(_("房主电话"), 20, inputmode="tel", autocomplete="off")
    area_m2 = forms.DecimalField(
        label=_("面积（平方米）"),
        required=False,
        min_value=0,
        max_digits=9,
        decimal_places=2,
        error_messages={"invalid": _("面积应为数字。"), "min_value": _("面积不能为负数。")},
        widget=forms.NumberInput(attrs={**_TEXT, "step": "0.01"}),
    )
    lon, lat = _coords()
    notes = _char(_("备注"), 2000, textarea=True)


class PlaceForm(LocatedForm):
    name = _char(_("场所名称"), 120, required=True)
    kind = forms.ChoiceField(
        label=_("场所类型"), choices=PlaceKind.choices, widget=forms.Select(attrs=_SELECT)
    )
    address = _char(_("地址"), 200, required=True)
    contact_name = _char(_("负责人"), 60)
    contact_phone = _char(_("联系电话"), 20, inputmode="tel", autocomplete="off")
    is_key = forms.BooleanField(label=_("重点场所"), required=False, initial=True)
    lon, lat = _coords()
    notes = _char(_("备注"), 2000, textarea=True)


class OrganizationForm(LocatedForm):
    name = _char(_("组织名称"), 150, required=True)
    kind = forms.ChoiceField(
        label=_("组织类型"), choices=OrganizationKind.choices, widget=forms.Select(attrs=_SELECT)
    )
    credit_code = _char(_("统一社会信用代码"), 18, autocomplete="off")
    legal_representative = _char(_("法定代表人"), 60)
    contact_phone = _char(_("联系电话"), 20, inputmode="tel", autocomplete="off")
    address = _char(_("地址"), 200)
    has_party_branch = forms.BooleanField(label=_("建有党组织"), required=False)
    employees = forms.IntegerField(
        label=_("从业人数"),
        required=False,
        min_value=0,
        error_messages={"invalid": _("从业人数应为整数。"), "min_value": _("从业人数不能为负数。")},
        widget=forms.NumberInput(attrs=_TEXT),
    )
    lon, lat = _coords()
    notes = _char(_("备注"), 2000, textarea=True)


class SupervisorChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class MembershipForm(forms.Form):
    """Enrolment and update of a special-population membership; the group's own fields are
    added as ``d_<name>`` from ``groups.GROUP_FIELDS``."""

    group = forms.ChoiceField(
        label=_("人群类别"), choices=SpecialGroup.choices, widget=forms.Select(attrs=_SELECT)
    )
    starts_on = forms.DateField(
        label=_("纳入管理日期"),
        error_messages={"required": _("请填写纳入管理日期。"), **_DATE},
        widget=forms.DateInput(attrs={**_TEXT, "type": "date"}),
    )
    ends_on = forms.DateField(
        label=_("管理期满日期"),
        required=False,
        error_messages=_DATE,
        widget=forms.DateInput(attrs={**_TEXT, "type": "date"}),
    )
    risk_level = forms.TypedChoiceField(
        label=_("风险等级"),
        coerce=int,
        choices=[(i, str(i)) for i in range(6)],
        initial=0,
        widget=forms.Select(attrs=_SELECT),
    )
    supervisor = SupervisorChoiceField(
        label=_("责任网格员"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.Select(attrs=_SELECT),
    )
    supervisor_names = _char(_("帮教/管控责任人"), 200)
    risk_assessment = _char(_("风险评估"), 2000, textarea=True)
    assessed_on = forms.DateField(
        label=_("评估日期"),
        required=False,
        error_messages=_DATE,
        widget=forms.DateInput(attrs={**_TEXT, "type": "date"}),
    )
    assistance_status = forms.ChoiceField(
        label=_("帮扶状态"), choices=AssistanceStatus.choices, widget=forms.Select(attrs=_SELECT)
    )

    def __init__(
        self,
        *args: Any,
        user: Any = None,
        group: str | None = None,
        region_path: str = "",
        allowed_groups: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        chosen = group or (self.data.get("group") if self.is_bound else None) or (allowed_groups or [""])[0]
        if group:
            del self.fields["group"]
        else:
            self.fields["group"].choices = [  # type: ignore[attr-defined]
                (g, label) for g, label in SpecialGroup.choices if g in (allowed_groups or [])
            ]
        self.chosen_group = chosen
        from zongzhi.orgs.scoping import users_who_can

        if chosen in SpecialGroup.values and region_path:
            self.fields["supervisor"].queryset = (  # type: ignore[attr-defined]
                users_who_can(Perm.VISIT_RECORD, region_path)
                .filter(pk__in=users_who_can(group_perm(chosen), region_path).values("pk"))
                .order_by("username")
            )
        for f in GROUP_FIELDS.get(chosen, ()):
            name = f"d_{f.name}"
            if f.kind == "date":
                field: forms.Field = forms.DateField(
                    label=f.label,
                    required=f.required,
                    error_messages=_DATE,
                    widget=forms.DateInput(attrs={**_TEXT, "type": "date"}),
                )
            elif f.kind == "choice":
                field = forms.ChoiceField(
                    label=f.label,
                    required=f.required,
                    choices=[("", "—"), *f.choices],
                    widget=forms.Select(attrs=_SELECT),
                )
            else:
                field = _char(
                    f.label,
                    2000 if f.kind == "textarea" else 200,
                    required=f.required,
                    textarea=f.kind == "textarea",
                )
            field.error_messages["required"] = _("请填写{label}。").format(label=f.label)
            self.fields[name] = field

    @property
    def detail_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in self.fields if n.startswith("d_")]

    @property
    def common_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in self.fields if not n.startswith("d_")]

    def details(self) -> dict[str, Any]:
        return {n[2:]: v for n, v in self.cleaned_data.items() if n.startswith("d_") and v not in (None, "")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("管理期满日期不能早于纳入管理日期。"))
        return data


class CloseForm(forms.Form):
    reason = _char(_("解除原因"), 200, required=True)


class UnmaskForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("查看原因"),
        choices=[("", "—"), *UnmaskReason.choices],
        error_messages={"required": _("请选择查看原因。")},
        widget=forms.Select(attrs=_SELECT),
    )
    note = _char(_("说明"), 200)


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    widget = MultiplePhotoInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(_("最多上传{n}张照片。").format(n=MAX_PHOTOS))
        return [super(MultiplePhotoField, self).clean(f, initial) for f in files]


class VisitForm(forms.Form):
    visited_at = forms.DateTimeField(
        label=_("走访时间"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        error_messages={
            "required": _("请填写走访时间。"),
            "invalid": _("请按“年-月-日 时:分”填写走访时间。"),
        },
        widget=forms.DateTimeInput(attrs={**_TEXT, "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    location_text = _char(_("走访地点"), 200)
    findings = _char(_("走访情况"), 5000, required=True, textarea=True)
    lon, lat = _coords()
    gps_accuracy_m = forms.FloatField(required=False, min_value=0, widget=forms.HiddenInput)
    photos = MultiplePhotoField(
        label=_("现场照片"),
        widget=MultiplePhotoInput(
            attrs={"class": "form-control", "accept": "image/*", "capture": "environment"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("visited_at", timezone.localtime().replace(second=0, microsecond=0))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            "lon" not in self.errors
            and "lat" not in self.errors
            and (data.get("lon") is None) != (data.get("lat") is None)
        ):
            self.add_error("lon", _("经度和纬度须同时填写。"))
        return data


def today() -> dt.date:
    return timezone.localdate()
