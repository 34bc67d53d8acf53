from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "crm.exports"
    label = "exports"
    verbose_name = "数据导出"

    def ready(self) -> None:
        from crm.exports import events, jobs  # noqa: F401
