import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("decision", "0001_registry"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TrainerSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("patient_file", models.CharField(max_length=200)),
                ("patient_index", models.PositiveIntegerField()),
                ("age", models.PositiveSmallIntegerField()),
                ("sex", models.CharField(max_length=1)),
                ("initial_evidence", models.CharField(max_length=20)),
                ("pathology", models.CharField(max_length=100)),
                ("model_name", models.CharField(max_length=100)),
                ("model_version", models.CharField(max_length=40)),
                ("model_digest", models.CharField(max_length=64)),
                ("status", models.CharField(choices=[("open", "In progress"), ("committed", "Differential committed")],
                                            default="open", max_length=20)),
                ("steps", models.JSONField(default=list)),
                ("initial_posterior", models.JSONField(default=list)),
                ("committed_differential", models.JSONField(default=list)),
                ("created_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
                ("committed_at", models.DateTimeField(blank=True, null=True)),
                ("learner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="ddx_sessions",
                                              to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["-created_at"],
                "indexes": [models.Index(fields=["learner", "-created_at"], name="decision_tr_learner_6f9cf6_idx")],
            },
        ),
    ]
