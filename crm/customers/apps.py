from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "crm.customers"
    label = "customers"
    verbose_name = "客户与联系人"

    def ready(self) -> None:
        from crm.customers import demo, entities, exports, jobs, nav  # noqa: F401
