from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "crm.quotes"
    label = "quotes"
    verbose_name = "产品与报价"

    def ready(self) -> None:
        from crm.quotes import config, demo, entities, exports, jobs, nav  # noqa: F401
