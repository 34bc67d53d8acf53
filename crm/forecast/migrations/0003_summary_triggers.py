"""Installed the triggers of the first summary table (ForecastCell). That table was
replaced by ForecastMonth in 0004, which drops these triggers where they exist and
installs its own in 0005; a new database has nothing to do here."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("forecast", "0002_forecastcell")]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
