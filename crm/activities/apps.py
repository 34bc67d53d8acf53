from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "crm.activities"
    label = "activities"
    verbose_name = "跟进与待办"

    def ready(self) -> None:
        from crm.activities import demo, entities, exports, nav  # noqa: F401
