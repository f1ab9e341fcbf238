# Written by hand for the model registry and the risk lab's exercise answers.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RegisteredModel",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("kind", models.CharField(max_length=40)),
                ("version", models.CharField(max_length=40)),
                ("data_digest", models.CharField(max_length=64)),
                ("params", models.JSONField(default=dict)),
                ("metrics", models.JSONField(default=dict)),
                ("card", models.TextField()),
                ("artifact", models.BinaryField()),
                ("artifact_digest", models.CharField(max_length=64)),
                ("artifact_size", models.PositiveIntegerField()),
                ("enabled", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField()),
                ("status_changed_at", models.DateTimeField(blank=True, null=True)),
                ("status_reason", models.TextField(blank=True)),
                ("trained_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                 related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["name", "-created_at"],
                "indexes": [models.Index(fields=["kind", "name"], name="decision_re_kind_907509_idx")],
                "constraints": [models.UniqueConstraint(fields=("name", "version"),
                                                        name="registered_model_version_unique")],
            },
        ),
        migrations.CreateModel(
            name="RiskExerciseAnswer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("estimate", "Estimate a patient's risk"),
                                                   ("leakage", "Find the leaking variable"),
                                                   ("transport", "Move a model to another hospital"),
                                                   ("threshold", "Choose and defend a threshold")], max_length=20)),
                ("dataset", models.CharField(max_length=60)),
                ("answer", models.JSONField(default=dict)),
                ("feedback", models.JSONField(default=dict)),
                ("score", models.FloatField(blank=True, null=True)),
                ("created_at", models.DateTimeField()),
                ("learner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="risk_answers",
                                              to=settings.AUTH_USER_MODEL)),
                ("model", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                            related_name="+", to="decision.registeredmodel")),
            ],
            options={
                "ordering": ["-created_at"],
                "indexes": [models.Index(fields=["learner", "kind", "created_at"], name="decision_ri_learner_e30b66_idx")],
            },
        ),
    ]
