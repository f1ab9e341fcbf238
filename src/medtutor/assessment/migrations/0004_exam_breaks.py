# Rest-break pauses of timed attempts (issue 5). Written by hand: only AttemptBreak.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("assessment", "0003_short_answer")]

    operations = [
        migrations.CreateModel(
            name="AttemptBreak",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("started_at", models.DateTimeField()),
                ("deadline_before", models.DateTimeField()),
                ("granted_seconds", models.PositiveIntegerField()),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                ("used_seconds", models.PositiveIntegerField(default=0)),
                ("ended_by", models.CharField(blank=True, max_length=10)),
                ("attempt", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="breaks",
                                              to="assessment.attempt")),
            ],
            options={"ordering": ["attempt", "started_at", "id"]},
        ),
        migrations.AddConstraint(
            model_name="attemptbreak",
            constraint=models.UniqueConstraint(condition=models.Q(("ended_at__isnull", True)), fields=("attempt",),
                                               name="attempt_break_one_open"),
        ),
    ]
