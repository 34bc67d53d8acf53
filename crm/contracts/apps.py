from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "crm.contracts"
    label = "contracts"
    verbose_name = "合同与回款"

    def ready(self) -> None:
        from crm.contracts import conditions, demo, entities, exports, nav  # noqa: F401
