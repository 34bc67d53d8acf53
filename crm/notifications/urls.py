from django.urls import path

from crm.notifications import views

urlpatterns = [
    path("notifications/", views.notification_list_view, name="notification_list"),
    path("notifications/bell/", views.notification_bell_view, name="notification_bell"),
    path("notifications/read-all/", views.notification_read_all_view, name="notification_read_all"),
    path("notifications/<int:pk>/open/", views.notification_open_view, name="notification_open"),
    path("me/notifications/", views.notification_prefs_view, name="notification_prefs"),
    path("admin/robots/", views.robot_list_view, name="robot_list"),
    path("admin/robots/<int:pk>/", views.robot_edit_view, name="robot_edit"),
    path("admin/deliveries/", views.delivery_problems_view, name="delivery_problems"),
    path("admin/deliveries/<int:pk>/retry/", views.delivery_retry_view, name="delivery_retry"),
]
