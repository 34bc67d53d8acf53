from django.apps import AppConfig


class DedupeConfig(AppConfig):
    name = "crm.dedupe"
    label = "dedupe"
    verbose_name = "查重与合并"

    def ready(self) -> None:
        from crm.dedupe import demo, entities, jobs, nav  # noqa: F401
