from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "crm.audit"
    label = "audit"
    verbose_name = "审计日志"

    def ready(self) -> None:
        from crm.audit import signals  # noqa: F401
