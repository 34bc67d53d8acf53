from django.conf import settings
from django.conf.urls.i18n import i18n_patterns  # noqa: F401  (kept for later locale-prefixed pages)
from django.urls import include, path

from crm.api import api
from crm.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz_view, name="healthz"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("crm.access.urls")),
    path("audit/", include("crm.audit.urls")),
    path("", include("crm.customers.urls")),
    path("", include("crm.activities.urls")),
    path("", include("crm.notifications.urls")),
    path("", include("crm.reminders.urls")),
    path("", include("crm.leads.urls")),
    path("", include("crm.opportunities.urls")),
    path("", include("crm.quotes.urls")),
    path("", include("crm.contracts.urls")),
    path("", include("crm.forecast.urls")),
    path("", include("crm.imports.urls")),
    path("", include("crm.dedupe.urls")),
    path("", include("crm.exports.urls")),
    path("", include("crm.backup.urls")),
    path("", include("crm.core.urls")),
]

if settings.DEBUG:  # pragma: no cover
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
