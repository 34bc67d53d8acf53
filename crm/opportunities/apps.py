from django.apps import AppConfig


class OpportunitiesConfig(AppConfig):
    name = "crm.opportunities"
    label = "opportunities"
    verbose_name = "商机"

    def ready(self) -> None:
        from crm.opportunities import demo, entities, exports, nav, reminders  # noqa: F401
