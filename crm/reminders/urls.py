from django.urls import path

from crm.reminders import views

urlpatterns = [
    path("admin/reminder-rules/", views.reminder_rule_list_view, name="reminder_rule_list"),
    path("admin/reminder-rules/run/", views.reminder_run_view, name="reminder_run"),
    path(
        "admin/reminder-rules/<int:pk>/", views.reminder_rule_edit_view, name="reminder_rule_edit"
    ),
    path("admin/working-calendar/", views.working_calendar_view, name="working_calendar"),
]
