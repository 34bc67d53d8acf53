from django.apps import AppConfig


class TimelineConfig(AppConfig):
    name = "crm.timeline"
    label = "timeline"
    verbose_name = "客户动态"
