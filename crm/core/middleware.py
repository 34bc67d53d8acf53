from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# Everything is served by the app itself (no CDN). htmx and Alpine need no eval except
# Alpine's expression evaluator, which uses Function(): 'unsafe-eval' is the price of Alpine's
# standard build; inline <script> stays forbidden.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)
# The API docs page (Swagger UI from django-ninja's bundled static files) needs inline script.
CSP_DOCS = CSP.replace("script-src 'self' 'unsafe-eval'", "script-src 'self' 'unsafe-inline'")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            policy = CSP_DOCS if request.path.startswith("/api/v1/docs") else CSP
            response["Content-Security-Policy"] = policy
        response.setdefault("Permissions-Policy", "camera=(self), geolocation=(self)")
        return response
