import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("forecast", "0001_initial"),
        ("opportunities", "0002_default_pipelines"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ForecastCell",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                (
                    "bucket",
                    models.CharField(
                        choices=[
                            ("pipeline", "管道"),
                            ("best", "乐观"),
                            ("commit", "承诺"),
                            ("omitted", "不计入"),
                            ("won", "赢单"),
                        ],
                        max_length=10,
                    ),
                ),
                ("amount", models.BigIntegerField(default=0)),
                ("weighted", models.BigIntegerField(default=0)),
                ("deals", models.IntegerField(default=0)),
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
                            "bucket",
                            "owner",
                            "pipeline",
                            "amount",
                            "weighted",
                            "deals",
                        ],
                        name="forecast_cell_read",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("owner", "month", "bucket", "pipeline"), name="forecast_cell_key"
                    )
                ],
            },
        ),
    ]
