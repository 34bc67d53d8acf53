"""The summary becomes one row per owner, pipeline and month (ForecastMonth), with a
column per forecast figure: about a third of the rows of ForecastCell (one row per
category), so the wide reads scan a third as much. The old triggers go first."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OLD_SQLITE = ("forecast_opp_ai", "forecast_opp_au", "forecast_opp_ad")


def drop_old_triggers(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "sqlite":
            for name in OLD_SQLITE:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            cursor.execute(
                "DROP TRIGGER IF EXISTS forecast_opp_change ON opportunities_opportunity"
            )
            cursor.execute("DROP FUNCTION IF EXISTS forecast_opp_changed()")
            cursor.execute(
                "DROP FUNCTION IF EXISTS forecast_cell_apply(opportunities_opportunity, integer)"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("forecast", "0003_summary_triggers"),
        ("opportunities", "0002_default_pipelines"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_old_triggers, migrations.RunPython.noop),
        migrations.DeleteModel(name="ForecastCell"),
        migrations.CreateModel(
            name="ForecastMonth",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                ("pipeline_amount", models.BigIntegerField(default=0)),
                ("best_amount", models.BigIntegerField(default=0)),
                ("commit_amount", models.BigIntegerField(default=0)),
                ("omitted_amount", models.BigIntegerField(default=0)),
                ("weighted", models.BigIntegerField(default=0)),
                ("open_deals", models.IntegerField(default=0)),
                ("won_amount", models.BigIntegerField(default=0)),
                ("won_deals", models.IntegerField(default=0)),
                (
                    "owner",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "pipeline",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="opportunities.pipeline",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=[
                            "month",
                            "owner",
                            "pipeline",
                            "pipeline_amount",
                            "best_amount",
                            "commit_amount",
                            "omitted_amount",
                            "weighted",
                            "open_deals",
                            "won_amount",
                            "won_deals",
                        ],
                        name="forecast_month_read",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("owner", "month", "pipeline"), name="forecast_month_key"
                    )
                ],
            },
        ),
    ]
