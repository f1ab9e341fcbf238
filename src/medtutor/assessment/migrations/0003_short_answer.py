import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assessment", "0002_cat"),
        ("core", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ShortAnswerResponse",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text", models.TextField(blank=True, default="")),
                ("max_score", models.FloatField(default=1.0)),
                ("auto_score", models.FloatField(blank=True, null=True)),
                ("confidence", models.FloatField(blank=True, null=True)),
                ("matched_points", models.JSONField(blank=True, default=list)),
                ("grader_name", models.CharField(blank=True, max_length=60)),
                ("grader_version", models.CharField(blank=True, max_length=40)),
                ("status", models.CharField(choices=[("pending", "Not graded yet"), ("auto", "Graded automatically"),
                                                     ("needs_review", "Waiting for faculty review"),
                                                     ("confirmed", "Confirmed by faculty"),
                                                     ("overridden", "Changed by faculty")],
                                            default="pending", max_length=16)),
                ("graded_at", models.DateTimeField(blank=True, null=True)),
                ("final_score", models.FloatField(blank=True, null=True)),
                ("reviewed_at", models.DateTimeField(blank=True, null=True)),
                ("review_reason", models.TextField(blank=True, default="")),
                ("attempt_item", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE,
                                                      related_name="short_answer", to="assessment.attemptitem")),
                ("decision", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                               related_name="+", to="core.auditrecord")),
                ("reviewer", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                               related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["attempt_item"],
                "indexes": [models.Index(fields=["status"], name="assessment__status_9a1c8a_idx")],
            },
        ),
    ]
