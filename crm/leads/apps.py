from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "crm.leads"
    label = "leads"
    verbose_name = "线索"

    def ready(self) -> None:
        from crm.leads import conditions, config, demo, entities, exports, nav  # noqa: F401
