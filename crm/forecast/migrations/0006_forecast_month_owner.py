from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("forecast", "0005_summary_triggers")]

    operations = [
        migrations.AddIndex(
            model_name="forecastmonth",
            index=models.Index(
                fields=[
                    "owner",
                    "month",
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
                name="forecast_month_owner",
            ),
        ),
    ]
