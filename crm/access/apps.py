from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "crm.access"
    label = "access"
    verbose_name = "组织与权限"

    def ready(self) -> None:
        from crm.access import entities, signals  # noqa: F401  (registers entities and signals)
