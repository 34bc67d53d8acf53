"""The triggers that keep ForecastMonth in step with the opportunities, and its first fill."""

from django.db import migrations


def forward(apps, schema_editor):
    from crm.forecast import summary

    summary.install(schema_editor.connection)
    summary.rebuild(schema_editor.connection)


def backward(apps, schema_editor):
    from crm.forecast import summary

    summary.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("forecast", "0004_forecastmonth")]
    operations = [migrations.RunPython(forward, backward)]
