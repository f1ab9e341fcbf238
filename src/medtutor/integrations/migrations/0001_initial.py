import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("content", "0002_selector_index")]

    operations = [
        migrations.CreateModel(
            name="CardImage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("path", models.CharField(max_length=200)),
                ("name", models.CharField(max_length=200)),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("card", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="images",
                                           to="content.card")),
            ],
            options={"ordering": ["card", "position"],
                     "constraints": [models.UniqueConstraint(fields=("card", "path"), name="card_image_once")]},
        ),
    ]
