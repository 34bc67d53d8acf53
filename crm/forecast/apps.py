from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _summary_ensure(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After every migrate: SQLite rebuilds a table to alter most of its columns, which
    drops the table's triggers. Reinstall the forecast summary's triggers when they are
    missing, and recompute the summary (writes made meanwhile are not in it)."""
    from django.db import connections, transaction

    from crm.forecast import summary

    connection = connections[using]
    tables = set(connection.introspection.table_names())
    if summary.OPP not in tables or summary.SUMMARY not in tables:
        return
    if summary.installed(connection):
        return
    with transaction.atomic(using=using):
        summary.install(connection)
        summary.rebuild(connection)


class ForecastConfig(AppConfig):
    name = "crm.forecast"
    label = "forecast"
    verbose_name = "销售预测"

    def ready(self) -> None:
        from crm.forecast import demo, entities, jobs, nav  # noqa: F401

        post_migrate.connect(_summary_ensure, sender=self, dispatch_uid="forecast_summary")
