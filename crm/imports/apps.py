from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "crm.imports"
    label = "imports"
    verbose_name = "数据导入"

    def ready(self) -> None:
        from crm.imports import config, entities, nav  # noqa: F401
