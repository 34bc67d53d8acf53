from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "crm.leads"
    label = "leads"
    verbose_name = "线索"

    def ready(self) -> None:
        pass
