"""Pure rules of the dispute domain: scale, escalation advice, party identity checks, the rates.
No database access; the definitions are written out in ``docs/disputes.md``."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from zongzhi.people import validators

# --- scale (规模) ------------------------------------------------------------------------------------------


def scale_for(people: int, *, group_min: int = 5, mass_min: int = 30) -> str:
    """individual below ``group_min`` people, group from ``group_min``, mass from ``mass_min``."""
    if people >= mass_min:
        return "mass"
    if people >= group_min:
        return "group"
    return "individual"


# --- escalation advice ("小事不出村、大事不出镇、矛盾不上交") ---------------------------------------------------

LEVEL_DEPTH = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
# the lowest level at which a dispute of this risk (or scale) should be handled
RISK_LEVEL_FLOOR = {"low": "village", "medium": "village", "high": "township", "major": "county"}
SCALE_LEVEL_FLOOR = {"individual": "village", "group": "village", "mass": "county"}


@dataclass(frozen=True)
class EscalationAdvice:
    suggested: bool
    target_level: str  # the level the dispute should be handled at (at least)
    reasons: tuple[str, ...]


def escalation_advice(
    *, risk_level: str, scale: str, owner_level: str, flag_count: int = 0
) -> EscalationAdvice:
    """Whether a dispute owned by a center at ``owner_level`` should go up (上报).

    A high risk belongs at least with the township, a major risk and a mass dispute (重大群体性)
    with the county; a dispute with two or more escalation-risk flags (民转刑 signals) belongs at
    least with the township. When the owning center is below that level, escalation is suggested —
    never performed automatically: a person decides and writes the reason (``escalate``)."""
    floors: list[tuple[str, str]] = [
        (RISK_LEVEL_FLOOR.get(risk_level, "village"), _("风险等级")),
        (SCALE_LEVEL_FLOOR.get(scale, "village"), _("纠纷规模")),
    ]
    if flag_count >= 2:
        floors.append(("township", _("多项民转刑风险信号")))
    owner_depth = LEVEL_DEPTH.get(owner_level, 4)
    target = min((f for f, _label in floors), key=lambda lvl: LEVEL_DEPTH[lvl])
    reasons = tuple(label for f, label in floors if LEVEL_DEPTH[f] < owner_depth)
    return EscalationAdvice(suggested=bool(reasons), target_level=target, reasons=reasons)


# --- parties -------------------------------------------------------------------------------------------------


class PartyDataError(ValueError):
    def __init__(self, field: str, message: str, code: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


def normalise(value: str) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


def check_id_number(id_type: str, value: str, *, today: date | None = None) -> str:
    """The normalised certificate number, checked as base data checks it (``people.validators``):
    a citizen ID (GB 11643) in full — shape, birth date, check digit — and a unified social credit
    code (GB 32100) with its check character."""
    try:
        if id_type == "id_card":
            return validators.parse_citizen_id(value, today=today).number
        if id_type == "credit_code":
            return validators.validate_credit_code(value)
        return validators.validate_id_number(id_type, value)
    except validators.ValidationProblem as exc:
        raise PartyDataError("id_number", _(exc.message), exc.code) from None


def check_phone(value: str) -> str:
    """A mainland mobile or a landline with its area code, as base data accepts it."""
    try:
        return validators.validate_phone(value)
    except validators.ValidationProblem as exc:
        raise PartyDataError("phone", _(exc.message), exc.code) from None


# --- agreement numbers -------------------------------------------------------------------------------------


def agreement_number(year: int, region_short: str, seq: int) -> str:
    """（2026）北山调字第007号 — the customary form of a people's mediation agreement number."""
    return f"（{year}）{region_short}调字第{seq:03d}号"


def region_short_name(name: str) -> str:
    """北山街道 → 北山, 甲一社区 → 甲一, 径山镇 → 径山 (a one-character name stays)."""
    for suffix in ("街道办事处", "街道", "社区居委会", "社区", "村委会", "村", "镇", "乡", "区", "县", "市"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


# --- the rates (化解率, 就地化解率) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RateFigures:
    """The counts behind the rates of one region and period (definitions: docs/disputes.md).

    ``total``: disputes registered in the period (declined and merged cases excluded);
    ``withdrawn``: of those, withdrawn by the applicant; ``denominator`` = total − withdrawn;
    ``resolved``: agreement reached or resolved on the spot (not undone by a reopen);
    ``resolved_locally``: resolved while a village or township center owned the dispute."""

    total: int
    withdrawn: int
    resolved: int
    resolved_locally: int

    @property
    def denominator(self) -> int:
        return self.total - self.withdrawn

    @property
    def resolution_rate(self) -> Decimal | None:
        return rate(self.resolved, self.denominator)

    @property
    def local_resolution_rate(self) -> Decimal | None:
        return rate(self.resolved_locally, self.denominator)


def rate(part: int, whole: int) -> Decimal | None:
    """``part / whole`` as a percentage with one decimal (half up); ``None`` for an empty whole."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding="ROUND_HALF_UP")
