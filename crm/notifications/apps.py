from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "crm.notifications"
    label = "notifications"
    verbose_name = "通知"

    def ready(self) -> None:
        from crm.notifications import jobs, nav  # noqa: F401
