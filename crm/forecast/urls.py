from django.urls import URLPattern, URLResolver, path

from crm.forecast import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("forecast/", views.forecast_view, name="forecast"),
    path("forecast/targets/", views.targets_view, name="forecast_targets"),
]
