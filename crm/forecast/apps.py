from django.apps import AppConfig


class ForecastConfig(AppConfig):
    name = "crm.forecast"
    label = "forecast"
    verbose_name = "销售预测"

    def ready(self) -> None:
        pass
