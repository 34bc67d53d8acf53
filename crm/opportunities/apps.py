from django.apps import AppConfig


class OpportunitiesConfig(AppConfig):
    name = "crm.opportunities"
    label = "opportunities"
    verbose_name = "商机"

    def ready(self) -> None:
        pass
