# Early warning (issue 8, analytics 3). Written by hand: EarlyWarningRun, EarlyWarningFlag, EarlyWarningDecision,
# SyntheticStudentTruth.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import medtutor.core.clock


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        ("assessment", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="EarlyWarningRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("trained_on", models.JSONField(default=list)),
                ("model_name", models.CharField(max_length=60)),
                ("model_version", models.CharField(max_length=40)),
                ("cutoff", models.DateTimeField()),
                ("threshold", models.FloatField(default=0.5)),
                ("metrics", models.JSONField(default=dict)),
                ("notes", models.JSONField(blank=True, default=list)),
                ("created_at", models.DateTimeField(default=medtutor.core.clock.now)),
                ("cohort", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             related_name="early_warning_runs", to="accounts.cohort")),
                ("exam", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                           related_name="+", to="assessment.exam")),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                 related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.CreateModel(
            name="EarlyWarningFlag",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("probability", models.FloatField()),
                ("confidence", models.FloatField()),
                ("reasons", models.JSONField(default=list)),
                ("features", models.JSONField(default=dict)),
                ("flagged", models.BooleanField(default=False)),
                ("status", models.CharField(choices=[("open", "Waiting for a decision"),
                                                     ("support_offered", "Support offered"),
                                                     ("no_action", "Reviewed, no action"),
                                                     ("dismissed", "Dismissed")],
                                            default="open", max_length=20)),
                ("outcome_failed", models.BooleanField(blank=True, null=True)),
                ("audit_seq", models.PositiveBigIntegerField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=medtutor.core.clock.now)),
                ("updated_at", models.DateTimeField(default=medtutor.core.clock.now)),
                ("run", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="flags",
                                          to="analytics.earlywarningrun")),
                ("student", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                              related_name="early_warning_flags", to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["-probability", "id"]},
        ),
        migrations.AddConstraint(
            model_name="earlywarningflag",
            constraint=models.UniqueConstraint(fields=("run", "student"), name="early_warning_one_flag_per_student"),
        ),
        migrations.CreateModel(
            name="EarlyWarningDecision",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("decided_at", models.DateTimeField(default=medtutor.core.clock.now)),
                ("action", models.CharField(choices=[("contact", "Contact the student"),
                                                     ("tutoring", "Offer tutoring"),
                                                     ("referral", "Refer to student support"),
                                                     ("study_plan", "Agree a study plan"),
                                                     ("no_action", "Reviewed, no action needed"),
                                                     ("dismiss", "Dismiss the flag (prediction looks wrong)")],
                                            max_length=20)),
                ("support_offered", models.TextField(blank=True, default="")),
                ("note", models.TextField(blank=True, default="")),
                ("audit_seq", models.PositiveBigIntegerField(blank=True, null=True)),
                ("decided_by", models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                 related_name="+", to=settings.AUTH_USER_MODEL)),
                ("flag", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="decisions",
                                           to="analytics.earlywarningflag")),
            ],
            options={"ordering": ["-decided_at", "-id"]},
        ),
        migrations.CreateModel(
            name="SyntheticStudentTruth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("generator", models.CharField(max_length=40)),
                ("general_ability", models.FloatField()),
                ("expected_exam_score", models.FloatField()),
                ("dropout_week", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("truth", models.JSONField(default=dict)),
                ("cohort", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             related_name="synthetic_truths", to="accounts.cohort")),
                ("student", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE,
                                                 related_name="synthetic_truth", to=settings.AUTH_USER_MODEL)),
            ],
        ),
    ]
