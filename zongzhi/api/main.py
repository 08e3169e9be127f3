"""The REST API (django-ninja), mounted at /api/v1/. OpenAPI document and viewer at /api/v1/docs."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from zongzhi.core.errors import DomainError

from .alerts import router as alerts_router
from .analytics import router as analytics_router
from .assessment import router as assessment_router
from .auth import AUTH
from .cases import catalogue_router, public_router
from .cases import router as cases_router
from .disputes import router as disputes_router
from .geo import router as geo_router
from .orgs import router as orgs_router
from .people import router as people_router
from .people_io import router as people_io_router

api = NinjaAPI(
    title="综治中心信息平台 API",
    version="1",
    urls_namespace="api",
    auth=AUTH,
    description="Comprehensive social-governance center platform. Session (with CSRF) or bearer-token auth.",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.as_dict()}, status=exc.status)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": {"code": "not_found", "message": "未找到"}}, status=404)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"detail": {"code": "unauthenticated", "message": "未登录或令牌无效"}}, status=401
    )


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query", "path")]
        errors.append(
            {"field": ".".join(loc), "code": err.get("type", "invalid"), "message": err.get("msg", "")}
        )
    return api.create_response(request, {"detail": {"code": "invalid", "errors": errors}}, status=422)


# geo first: its /grids/import and /grids/export must resolve before orgs' /grids/{grid_id}.
api.add_router("/", geo_router)
api.add_router("/", orgs_router)
api.add_router("/", cases_router)
api.add_router("/", public_router)
api.add_router("/", catalogue_router)
api.add_router("/", disputes_router)
api.add_router("/", alerts_router)
api.add_router("/", analytics_router)
api.add_router("/", assessment_router)
api.add_router("/", people_router)
api.add_router("/", people_io_router)
