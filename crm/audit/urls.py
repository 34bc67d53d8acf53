from django.urls import path

from crm.audit import views

urlpatterns = [
    path("", views.audit_list_view, name="audit_list"),
    path("verify", views.audit_verify_view, name="audit_verify"),
]
