from django.urls import path

from crm.activities import views

urlpatterns = [
    path("today/", views.my_day_view, name="my_day"),
    path("customers/<int:pk>/followups/new/", views.followup_create_view, name="followup_create"),
    path("followups/", views.followup_list_view, name="followup_list"),
    path("followups/<int:pk>/delete/", views.followup_delete_view, name="followup_delete"),
    path(
        "followups/attachments/<int:pk>/",
        views.followup_attachment_view,
        name="followup_attachment",
    ),
    path("tasks/", views.task_list_view, name="task_list"),
    path("tasks/new/", views.task_create_view, name="task_create"),
    path("tasks/<int:pk>/", views.task_edit_view, name="task_edit"),
    path("tasks/<int:pk>/done/", views.task_toggle_view, name="task_toggle"),
    path("me/calendar/", views.calendar_settings_view, name="calendar_settings"),
    path("calendar/<str:token>.ics", views.calendar_feed_view, name="calendar_feed"),
    path("admin/talk-scripts/", views.talkscript_list_view, name="talkscript_list"),
    path("admin/talk-scripts/<int:pk>/", views.talkscript_edit_view, name="talkscript_edit"),
    path("admin/activity-settings/", views.activity_settings_view, name="activity_settings"),
]
