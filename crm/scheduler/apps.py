from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "crm.scheduler"
    label = "scheduler"
    verbose_name = "定时任务"

    def ready(self) -> None:
        from crm.scheduler import jobs  # noqa: F401  (registers the built-in periodic jobs)
