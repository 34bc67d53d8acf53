from django.apps import AppConfig


class BackupConfig(AppConfig):
    name = "crm.backup"
    label = "backup"
    verbose_name = "备份与恢复"

    def ready(self) -> None:
        from crm.backup import config, events, health, jobs, nav  # noqa: F401
