from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "crm.reminders"
    label = "reminders"
    verbose_name = "提醒规则"

    def ready(self) -> None:
        from crm.reminders import conditions, jobs, nav  # noqa: F401
