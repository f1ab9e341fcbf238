import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0001_initial"),
        ("core", "0002_job_runs"),
        ("assessment", "0005_attempt_paused_until"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Contest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reason", models.TextField()),
                ("status", models.CharField(choices=[
                    ("open", "Open: waiting for a faculty review"),
                    ("upheld", "Upheld: the reviewer checked the decision and it stands"),
                    ("changed", "Changed: the reviewer overrode the decision"),
                    ("rejected", "Rejected: not a decision that can be reviewed this way")],
                    default="open", max_length=12)),
                ("assigned_role", models.CharField(default="faculty", max_length=16)),
                ("created_at", models.DateTimeField()),
                ("reviewed_at", models.DateTimeField(blank=True, null=True)),
                ("response", models.TextField(blank=True, default="")),
                ("decision", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="contests",
                                               to="core.auditrecord")),
                ("outcome_record", models.ForeignKey(blank=True, null=True,
                                                     on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                     to="core.auditrecord")),
                ("reviewer", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                               related_name="+", to=settings.AUTH_USER_MODEL)),
                ("student", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="contests",
                                              to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.AddConstraint(
            model_name="contest",
            constraint=models.UniqueConstraint(condition=models.Q(("status", "open")), fields=("decision",),
                                               name="contest_one_open_per_decision"),
        ),
        migrations.AddIndex(
            model_name="contest",
            index=models.Index(fields=["status", "created_at"], name="contest_status_created"),
        ),
        migrations.CreateModel(
            name="ChainCheck",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("checked_at", models.DateTimeField()),
                ("ok", models.BooleanField()),
                ("checked", models.PositiveBigIntegerField()),
                ("first_broken_seq", models.PositiveBigIntegerField(blank=True, null=True)),
                ("reason", models.CharField(blank=True, default="", max_length=300)),
                ("last_hash", models.CharField(blank=True, default="", max_length=64)),
                ("duration_ms", models.PositiveIntegerField(default=0)),
                ("checked_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                 related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["-checked_at", "-id"]},
        ),
        migrations.CreateModel(
            name="LessonCompletion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("course", models.SlugField(max_length=60)),
                ("lesson", models.SlugField(max_length=80)),
                ("completed_at", models.DateTimeField()),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           related_name="lesson_completions", to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["course", "lesson"]},
        ),
        migrations.AddConstraint(
            model_name="lessoncompletion",
            constraint=models.UniqueConstraint(fields=("user", "course", "lesson"), name="lesson_completed_once"),
        ),
        migrations.CreateModel(
            name="CourseQuiz",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("course", models.SlugField(max_length=60, unique=True)),
                ("exam", models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                              to="assessment.exam")),
            ],
        ),
        migrations.CreateModel(
            name="QuizAttempt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveSmallIntegerField()),
                ("seed", models.BigIntegerField()),
                ("items", models.JSONField(default=list)),
                ("answers", models.JSONField(blank=True, default=dict)),
                ("started_at", models.DateTimeField()),
                ("submitted_at", models.DateTimeField(blank=True, null=True)),
                ("score_correct", models.PositiveIntegerField(blank=True, null=True)),
                ("score_total", models.PositiveIntegerField(blank=True, null=True)),
                ("exam", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                           to="assessment.exam")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="quiz_attempts",
                                           to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["-started_at", "-id"]},
        ),
        migrations.AddConstraint(
            model_name="quizattempt",
            constraint=models.UniqueConstraint(fields=("user", "exam", "number"), name="quiz_attempt_number_unique"),
        ),
        migrations.AddConstraint(
            model_name="quizattempt",
            constraint=models.UniqueConstraint(condition=models.Q(("submitted_at__isnull", True)),
                                               fields=("user", "exam"), name="quiz_attempt_one_open"),
        ),
    ]
