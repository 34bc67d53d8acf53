"""The REST API under /api/v1/: one NinjaAPI, a router per app, one error format.

Errors are always JSON `{"detail": ..., "errors": [{"field": ..., "message": ...}]}` with a
4xx status; domain errors raised by services become the same shape as schema errors.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.throttling import AnonRateThrottle, UserRateThrottle

from crm.core.apiutils import AUTH
from crm.core.errors import Conflict, DomainError, NotFound, StaleVersion

api = NinjaAPI(
    title="CRM API",
    version="1",
    description="客户关系管理系统 REST API. Authenticate with `Authorization: Bearer <token>` "
    "(POST /api/v1/auth/token, or a personal token from your settings page).",
    auth=AUTH,
    throttle=[
        AnonRateThrottle(settings.API_ANON_RATE_LIMIT),
        UserRateThrottle(settings.API_RATE_LIMIT),
    ],
    urls_namespace="api",
)


def _error(
    request: HttpRequest, status: int, detail: str, errors: list | None = None, **extra: Any
) -> HttpResponse:
    body: dict[str, Any] = {"detail": detail, "errors": errors or []}
    body.update(extra)
    return api.create_response(request, body, status=status)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    extra: dict[str, Any] = {}
    if isinstance(exc, Conflict) and exc.existing_id is not None:
        extra["existing_id"] = exc.existing_id
    if isinstance(exc, StaleVersion):
        extra["current"] = exc.current
    return _error(request, exc.status, exc.message, exc.errors, **extra)


def _loc_field(loc: Any) -> str:
    parts = [
        str(p)
        for p in loc
        if p not in ("body", "query", "path", "header", "cookie", "payload", "form", "file")
    ]
    # Ninja prefixes the parameter name (e.g. "payload", "filters"); drop it when a field follows.
    return ".".join(parts) or "body"


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        loc = err.get("loc", ())
        msg = err.get("msg", "invalid")
        errors.append({"field": _loc_field(loc), "message": str(msg)})
    return _error(request, 422, _("输入有误，请检查标出的字段"), errors)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, _("未登录或令牌无效"))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    # Ninja's own 404 ({"detail": "Not Found"}) lacks "errors"; keep the one format.
    return _error(request, 404, str(NotFound.default_message))


@api.exception_handler(SuspiciousOperation)
def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    # Django would answer these with an HTML 400 page; an API client gets JSON.
    if isinstance(exc, RequestDataTooBig):
        return _error(request, 413, _("请求内容过大"))
    return _error(request, 400, _("请求无效"))


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return _error(request, 429, _("请求过于频繁，请稍后再试"))


def _register_routers() -> None:
    from crm.access.api import router as access_router
    from crm.activities.api import router as activities_router
    from crm.audit.api import router as audit_router
    from crm.backup.api import router as backup_router
    from crm.contracts.api import router as contracts_router
    from crm.customers.api import router as customers_router
    from crm.dedupe.api import router as dedupe_router
    from crm.exports.api import router as exports_router
    from crm.forecast.api import router as forecast_router
    from crm.imports.api import router as imports_router
    from crm.leads.api import router as leads_router
    from crm.notifications.api import router as notifications_router
    from crm.opportunities.api import router as opportunities_router
    from crm.quotes.api import router as quotes_router
    from crm.reminders.api import router as reminders_router
    from crm.search.api import router as search_router

    api.add_router("/", access_router)
    api.add_router("/audit", audit_router)
    # Before customers: POST /customers/merge must not be taken for /customers/{customer_id}.
    api.add_router("/", dedupe_router)
    api.add_router("/", customers_router)
    api.add_router("/search", search_router)
    api.add_router("/", activities_router)
    api.add_router("/", notifications_router)
    api.add_router("/", reminders_router)
    api.add_router("/", leads_router)
    api.add_router("/", opportunities_router)
    api.add_router("/", quotes_router)
    api.add_router("/", contracts_router)
    api.add_router("/", forecast_router)
    api.add_router("/", imports_router)
    api.add_router("/", exports_router)
    api.add_router("/", backup_router)


_register_routers()
