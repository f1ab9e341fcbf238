from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("content", "0002_selector_index")]

    operations = [
        migrations.AddField(
            model_name="itemversion",
            name="rubric",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="itemversion",
            name="max_points",
            field=models.FloatField(default=1.0),
        ),
    ]
