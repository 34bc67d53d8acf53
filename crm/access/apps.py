from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "crm.access"
    label = "access"
    verbose_name = "组织与权限"

    def ready(self) -> None:
        # Registers the entities, the signals, the navigation entries and the home cards.
        from crm.access import entities, nav, signals  # noqa: F401
